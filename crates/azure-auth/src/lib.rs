//! Azure AD token providers behind one `TokenProvider` trait. Not built yet: see issue 4.
