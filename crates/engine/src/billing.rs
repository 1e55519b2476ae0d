//! billing — issue 6 fills this in.
