//! The next upgrade a site may take, by the [hop rule](super::check_hop), for
//! `data "quay_georep_versions"`.
//!
//! [`next_target`] is the furthest release one upgrade may reach from a version: the newest
//! patch of the next released minor, else a newer patch of the same minor. [`upgrade_path`]
//! repeats it up to the newest release, so a user sees every hop an old installation has to
//! take. Both only read the embedded [`catalogue`](super::catalogue); no I/O.

use super::versions::{HopError, QuayVersion, catalogue, check_hop};

/// The furthest release `current` may be upgraded to in one run; `None` when it runs the
/// newest release the provider knows.
///
/// # Errors
///
/// [`HopError`] when `current` is of a minor the provider does not know, or without a
/// release.
///
/// # Examples
///
/// ```
/// use terraform_provider_quay::georep::upgrade::{QuayVersion, next_target};
///
/// let v = |s: &str| s.parse::<QuayVersion>().unwrap();
/// assert_eq!(next_target(v("3.13.4")).unwrap(), Some(v("3.14.8")));
/// ```
pub fn next_target(current: QuayVersion) -> Result<Option<QuayVersion>, HopError> {
    let catalogue = catalogue();
    catalogue.known(current)?;
    Ok(catalogue
        .minors()
        .iter()
        .filter_map(super::versions::MinorSeries::newest_patch)
        .filter(|candidate| check_hop(current, *candidate).is_ok())
        .max())
}

/// Every hop from `current` to the newest release the provider knows, in order; empty when
/// `current` is the newest.
///
/// # Errors
///
/// As [`next_target`].
pub fn upgrade_path(current: QuayVersion) -> Result<Vec<QuayVersion>, HopError> {
    let mut path = Vec::new();
    let mut at = current;
    while let Some(next) = next_target(at)? {
        path.push(next);
        at = next;
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> QuayVersion {
        text.parse().unwrap()
    }

    #[test]
    fn the_next_target_is_the_newest_patch_of_the_next_minor() {
        assert_eq!(next_target(v("3.13.4")).unwrap(), Some(v("3.14.8")));
        assert_eq!(next_target(v("3.13.11")).unwrap(), Some(v("3.14.8")));
    }

    #[test]
    fn before_an_unreleased_minor_the_next_target_is_the_newest_patch_of_the_same_minor() {
        // 3.19 has no release: from an old 3.18 patch only 3.18's newest is allowed.
        let newest_18 = catalogue()
            .minor(v("3.18.0"))
            .and_then(super::super::versions::MinorSeries::newest_patch)
            .unwrap();
        if newest_18 > v("3.18.0") {
            assert_eq!(next_target(v("3.18.0")).unwrap(), Some(newest_18));
        }
        assert_eq!(next_target(newest_18).unwrap(), None);
    }

    #[test]
    fn the_path_takes_every_minor_once_up_to_the_newest_release() {
        let path = upgrade_path(v("3.15.1")).unwrap();
        let shown: Vec<String> = path.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["3.16.5", "3.17.4", "3.18.0"]);
        for pair in path.windows(2) {
            check_hop(pair[0], pair[1]).unwrap();
        }
        assert!(upgrade_path(v("3.18.0")).unwrap().is_empty());
    }

    #[test]
    fn an_unknown_minor_has_no_next_target_but_an_error_saying_why() {
        assert!(matches!(
            next_target(v("3.25.0")),
            Err(HopError::UnknownMinor { .. })
        ));
        assert!(matches!(
            next_target(v("3.19.0")),
            Err(HopError::Unreleased { .. })
        ));
    }
}
