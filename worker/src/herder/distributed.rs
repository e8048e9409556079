//! The distributed herder (work in progress).
