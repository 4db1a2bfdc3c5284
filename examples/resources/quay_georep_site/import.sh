# A site is imported by <cluster key>/<namespace>/<QuayRegistry name>; the first apply then
# writes the provider's own fields (the config bundle Secret, the components it declares).
terraform import 'quay_georep_site.site["us_east"]' us_east/quay-enterprise/registry
