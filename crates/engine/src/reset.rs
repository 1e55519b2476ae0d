//! reset — issue 5 fills this in.
