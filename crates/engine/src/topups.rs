//! topups — issue 6 fills this in.
