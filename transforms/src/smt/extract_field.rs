//! Not implemented yet.

use crate::plugin::TransformPlugin;

pub fn plugins() -> Vec<TransformPlugin> {
    Vec::new()
}
