//! Connector configs as a task runs them: config-provider placeholders resolved (and the
//! resolved secrets remembered, to scrub them from what users see), and task configs generated
//! by the connector under `tasks.max`, with the placeholders put back before they are stored.

use std::sync::Arc;

use tributary_connector_api::abi::{ConnectorRequest, ConnectorResponse};
use tributary_connector_api::Props;

use crate::config::client_security;
use crate::config::connector as cc;
use crate::config::providers::Secrets;
use crate::config::WorkerConfig;
use crate::plugins::{ConnectorPlugin, RemoteConnector};
use crate::worker::context::ContextState;

/// A stored (raw) config with its config-provider placeholders resolved, to run it, and the
/// resolved values to keep out of what users see.
pub fn resolved(worker: &WorkerConfig, raw: &Props) -> Result<(Props, Secrets), String> {
    let resolved = worker
        .config_providers
        .resolve(raw)
        .map_err(|e| format!("Failed to resolve the value of {}: {}", e.key, e.message))?;
    let secrets = Secrets::of(raw, &resolved);
    Ok((resolved, secrets))
}

/// Logs a connector's config as stored (placeholders, not secrets), with the values of
/// PASSWORD keys and of keys named as secrets (`*.password`, `sasl.jaas.config`, …) hidden.
fn log_config(plugin: &ConnectorPlugin, name: &str, raw: &Props) {
    let framework = cc::framework_def(plugin.manifest.kind);
    let hidden = |k: &str| {
        plugin
            .manifest
            .config_def
            .key(k)
            .or_else(|| framework.key(k))
            .is_some_and(|key| key.type_ == tributary_connector_api::ConfigType::Password)
            || client_security::is_secret_key(k)
    };
    let shown: Vec<String> = raw
        .iter()
        .map(|(k, v)| {
            if hidden(k) {
                format!("{k} = [hidden]")
            } else {
                format!("{k} = {v}")
            }
        })
        .collect();
    tracing::info!(
        connector = name,
        "starting connector with config: {}",
        shown.join(", ")
    );
}

/// Starts a connector instance, initialized with `context`, with its resolved config and asks
/// it for at most `tasks.max` task configs (unless `tasks.max.enforce=false`), which keep the
/// raw config's placeholders. Blocks.
pub fn start(
    worker: &WorkerConfig,
    plugin: &ConnectorPlugin,
    name: &str,
    raw: &Props,
    context: &Arc<ContextState>,
) -> Result<(RemoteConnector, Vec<Props>), String> {
    log_config(plugin, name, raw);
    let (config, secrets) = resolved(worker, raw)?;
    let mut c = plugin.new_connector().map_err(|e| e.to_string())?;
    c.initialize(context.host_context())
        .map_err(|e| secrets.scrub(&e.to_string()))?;
    c.call(&ConnectorRequest::Start(config.clone()))
        .map_err(|e| secrets.scrub(&e.to_string()))?;
    let configs = generate_resolved(&mut c, name, raw, &config, &secrets)?;
    Ok((c, configs))
}

/// Asks a running connector for its task configs, enforcing `tasks.max`; values taken from a
/// placeholder of the raw connector config get the placeholder back. Blocks.
pub fn generate(
    worker: &WorkerConfig,
    c: &mut RemoteConnector,
    name: &str,
    raw: &Props,
) -> Result<Vec<Props>, String> {
    let (config, secrets) = resolved(worker, raw)?;
    generate_resolved(c, name, raw, &config, &secrets)
}

/// [`generate`] with the config already resolved.
fn generate_resolved(
    c: &mut RemoteConnector,
    name: &str,
    raw: &Props,
    config: &Props,
    secrets: &Secrets,
) -> Result<Vec<Props>, String> {
    let max = cc::ConnectorSettings::from_props(config).tasks_max;
    let mut configs = match c
        .call(&ConnectorRequest::TaskConfigs(max as u32))
        .map_err(|e| secrets.scrub(&e.to_string()))?
    {
        ConnectorResponse::TaskConfigs(t) => t,
        _ => Vec::new(),
    };
    let enforce = config
        .get("tasks.max.enforce")
        .map(|v| v.trim() != "false")
        .unwrap_or(true);
    if enforce && configs.len() > max {
        return Err(format!(
            "The connector {name} has generated {} tasks, which is greater than {max}, the maximum number of tasks it is configured to create.",
            configs.len()
        ));
    }
    crate::config::providers::restore_placeholders(raw, &mut configs);
    Ok(configs)
}
