//! access — issue 4 fills this in.
