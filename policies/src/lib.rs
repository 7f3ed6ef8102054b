//! Control catalogs and policies (see issue 5).
