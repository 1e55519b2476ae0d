//! sync — issue 5 fills this in.
