//! Where the sites run: the `local` backend ([`crate::local`], the default) or the `kind`
//! backend ([`kind`], real clusters in Docker).

pub mod kind;
