//! Single-message transforms and predicates. Empty until the SMT issue lands.
