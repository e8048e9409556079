//! Plugin converters, header converters, transformations and predicates behind the same
//! traits as the built-ins. A plugin converter crosses the boundary once per batch
//! ([`Converter::from_connect_batch`] / [`Converter::to_connect_batch`]); the per-record
//! methods send a batch of one.

use std::borrow::Cow;

use tributary_connector_api::abi::{
    component::{HeaderData, HeaderRaw},
    ComponentRequest, ComponentResponse, FromConnectRef, ToConnectRef, WireRecord,
};
use tributary_connector_api::converter::{ConnectData, Connected, RawData};
use tributary_connector_api::transform::{ConnectRecord, Outcome, TransformError};
use tributary_connector_api::{
    Converter, ConverterError, HeaderConverter, Predicate, SchemaRef, Transformation, Value,
    ValueRef,
};

use super::library::{CallError, RemoteComponent};
use tributary_connector_api::component::ComponentKind;

fn protocol(e: CallError) -> String {
    e.to_string()
}

fn unexpected(r: &ComponentResponse) -> String {
    format!("plugin protocol error: unexpected response {r:?}")
}

/// Results of a write batch, one per record.
fn bytes_results(
    n: usize,
    r: Result<ComponentResponse, CallError>,
) -> Vec<Result<Option<Vec<u8>>, ConverterError>> {
    match r {
        Ok(ComponentResponse::Bytes(v)) if v.len() == n => {
            v.into_iter().map(|r| r.map(|b| b.map(|b| b.0))).collect()
        }
        Ok(other) => vec![Err(ConverterError::Serialize(unexpected(&other))); n],
        Err(e) => vec![Err(ConverterError::Serialize(protocol(e))); n],
    }
}

fn connected_results(
    n: usize,
    r: Result<ComponentResponse, CallError>,
) -> Vec<Result<Connected, ConverterError>> {
    match r {
        Ok(ComponentResponse::Connected(v)) if v.len() == n => v
            .into_iter()
            .map(|r| r.map(|c| (c.schema, c.value)))
            .collect(),
        Ok(other) => vec![Err(ConverterError::Deserialize(unexpected(&other))); n],
        Err(e) => vec![Err(ConverterError::Deserialize(protocol(e))); n],
    }
}

/// A key/value converter in a plugin.
pub struct PluginConverter(pub RemoteComponent);

impl Converter for PluginConverter {
    fn from_connect(
        &self,
        topic: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, ConverterError> {
        let one = [ConnectData {
            topic,
            schema,
            value: ValueRef::Value(value),
        }];
        bytes_results(1, self.0.call(&FromConnectRef(&one))).remove(0)
    }

    fn to_connect(&self, topic: &str, bytes: Option<&[u8]>) -> Result<Connected, ConverterError> {
        self.to_connect_batch(&[RawData { topic, bytes }]).remove(0)
    }

    fn from_connect_batch<'a>(
        &self,
        batch: &[ConnectData<'a>],
    ) -> Vec<Result<Option<Cow<'a, [u8]>>, ConverterError>> {
        let results = bytes_results(batch.len(), self.0.call(&FromConnectRef(batch)));
        results
            .into_iter()
            .map(|r| r.map(|bytes| bytes.map(Cow::Owned)))
            .collect()
    }

    fn to_connect_batch(&self, batch: &[RawData<'_>]) -> Vec<Result<Connected, ConverterError>> {
        connected_results(batch.len(), self.0.call(&ToConnectRef(batch)))
    }
}

/// A header converter in a plugin (one call per header).
pub struct PluginHeaderConverter(pub RemoteComponent);

impl HeaderConverter for PluginHeaderConverter {
    fn from_connect_header(
        &self,
        topic: &str,
        key: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, ConverterError> {
        let request = ComponentRequest::FromConnectHeader(vec![HeaderData {
            topic: topic.to_owned(),
            key: key.to_owned(),
            schema: schema.cloned(),
            value: value.clone(),
        }]);
        bytes_results(1, self.0.call(&request)).remove(0)
    }

    fn to_connect_header(
        &self,
        topic: &str,
        key: &str,
        bytes: Option<&[u8]>,
    ) -> Result<Connected, ConverterError> {
        let request = ComponentRequest::ToConnectHeader(vec![HeaderRaw {
            topic: topic.to_owned(),
            key: key.to_owned(),
            bytes: bytes.map(|b| tributary_connector_api::abi::component::ByteBuf(b.to_vec())),
        }]);
        connected_results(1, self.0.call(&request)).remove(0)
    }
}

/// A transformation in a plugin.
pub struct PluginTransformation(pub RemoteComponent);

impl Transformation for PluginTransformation {
    fn apply(&mut self, record: &mut dyn ConnectRecord) -> Result<Outcome, TransformError> {
        let request = ComponentRequest::Apply(vec![WireRecord::of(record)]);
        match self.0.call(&request) {
            Ok(ComponentResponse::Applied(mut v)) if v.len() == 1 => {
                let (outcome, out) = v.remove(0)?;
                out.write_to(record);
                Ok(outcome)
            }
            Ok(other) => Err(TransformError::new(unexpected(&other))),
            Err(e) => Err(TransformError {
                retriable: e.is_retriable(),
                message: e.to_string(),
            }),
        }
    }
}

/// A predicate in a plugin. A failed call counts as "does not match".
pub struct PluginPredicate(pub RemoteComponent);

impl Predicate for PluginPredicate {
    fn test(&self, record: &dyn ConnectRecord) -> bool {
        let request = ComponentRequest::Test(vec![WireRecord::of(record)]);
        match self.0.call(&request) {
            Ok(ComponentResponse::Tested(v)) => v.first().copied().unwrap_or(false),
            Ok(_) | Err(_) => {
                tracing::warn!("plugin predicate call failed; treating the record as not matching");
                false
            }
        }
    }
}

/// The plugin transformations and predicates of a registry, for a task's chain.
pub struct PluginClasses<'a>(pub &'a super::PluginRegistry);

impl tributary_transforms::ExternalClasses for PluginClasses<'_> {
    fn transformation(
        &self,
        name: &str,
        config: &tributary_connector_api::Props,
    ) -> Option<tributary_transforms::ExternalTransformation> {
        let plugin = self.0.component(ComponentKind::Transformation, name)?;
        Some(
            plugin
                .instantiate(config, false)
                .map(|remote| {
                    let class = tributary_transforms::intern_class(plugin.class());
                    (
                        class,
                        Box::new(PluginTransformation(remote)) as Box<dyn Transformation>,
                    )
                })
                .map_err(|e| e.to_string()),
        )
    }

    fn predicate(
        &self,
        name: &str,
        config: &tributary_connector_api::Props,
    ) -> Option<Result<Box<dyn Predicate>, String>> {
        let plugin = self.0.component(ComponentKind::Predicate, name)?;
        Some(
            plugin
                .instantiate(config, false)
                .map(|remote| Box::new(PluginPredicate(remote)) as Box<dyn Predicate>)
                .map_err(|e| e.to_string()),
        )
    }

    fn config_def(
        &self,
        transform: bool,
        name: &str,
    ) -> Option<tributary_connector_api::ConfigDef> {
        let kind = if transform {
            ComponentKind::Transformation
        } else {
            ComponentKind::Predicate
        };
        self.0
            .component(kind, name)
            .map(|c| c.manifest.config_def.clone())
    }
}

/// A config provider in a plugin.
pub struct PluginConfigProvider(pub RemoteComponent);

impl tributary_connector_api::ConfigProvider for PluginConfigProvider {
    fn get(
        &self,
        path: &str,
        keys: &std::collections::BTreeSet<String>,
    ) -> Result<std::collections::BTreeMap<String, String>, String> {
        let request = ComponentRequest::Get {
            path: path.to_owned(),
            keys: keys.clone(),
        };
        match self.0.call(&request) {
            Ok(ComponentResponse::Values(values)) => Ok(values),
            Ok(other) => Err(unexpected(&other)),
            Err(e) => Err(protocol(e)),
        }
    }
}

/// The plugin config provider `class` names, configured with `params`; `None` if no plugin
/// has the class.
pub fn config_provider(
    plugins: &super::PluginRegistry,
    class: &str,
    params: &tributary_connector_api::Props,
) -> Option<Result<Box<dyn tributary_connector_api::ConfigProvider>, String>> {
    let plugin = plugins.component(ComponentKind::ConfigProvider, class)?;
    Some(
        plugin
            .instantiate(params, false)
            .map(|remote| {
                Box::new(PluginConfigProvider(remote))
                    as Box<dyn tributary_connector_api::ConfigProvider>
            })
            .map_err(|e| e.to_string()),
    )
}
