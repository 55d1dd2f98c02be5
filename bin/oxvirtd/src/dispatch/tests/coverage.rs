//! Every procedure of the object families is served (`Some`), whatever the API
//! offers: nothing falls through to "unknown procedure".
