//! Config providers (connect-compat §4.6): `${provider:path:key}` and `${provider:key}`
//! placeholders in connector (and worker) configs, resolved on the worker when a connector or
//! task starts. Stored configs, REST responses and logs keep the placeholders.
//!
//! Declared in the worker config: `config.providers=file,env`,
//! `config.providers.<name>.class=<class or alias>`, `config.providers.<name>.param.<k>=…`.
//! Built-ins: `FileConfigProvider` (path = a properties file, key = a property),
//! `DirectoryConfigProvider` (path = a directory, key = a file name: its content), and
//! `EnvVarConfigProvider` (no path, key = an environment variable; `allowlist.pattern`). The
//! file and directory providers take `allowed.paths` (comma-separated directories a path must
//! lie under). A placeholder naming an undeclared provider, or a key the provider does not
//! have, is left as it is (as Kafka's `ConfigTransformer` does).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;
use tributary_connector_api::Props;

pub const FILE_PROVIDER: &str = "org.apache.kafka.common.config.provider.FileConfigProvider";
pub const DIRECTORY_PROVIDER: &str =
    "org.apache.kafka.common.config.provider.DirectoryConfigProvider";
pub const ENV_PROVIDER: &str = "org.apache.kafka.common.config.provider.EnvVarConfigProvider";

/// Kafka's `ConfigTransformer.DEFAULT_PATTERN`: provider, optional path, key.
static PLACEHOLDER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\$\{([^}]*?):(?:([^}]*?):)?([^}]*?)\}").expect("placeholder pattern")
});

/// A provider failed, or the provider declarations are invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ProviderError {
    /// The config key whose value could not be resolved, or the worker key that is invalid.
    pub key: String,
    pub message: String,
}

/// True if the value holds a `${…:…}` placeholder.
pub fn has_placeholder(value: &str) -> bool {
    PLACEHOLDER.is_match(value)
}

/// The built-ins implement the connector API's `ConfigProvider`, as a plugin's would.
use tributary_connector_api::ConfigProvider as Provider;

/// `allowed.paths`: a path must resolve under one of these (none = any path).
#[derive(Debug, Clone, Default)]
struct AllowedPaths(Vec<PathBuf>);

/// Removes `.` and `..` lexically (Java's `Path.normalize`).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

impl AllowedPaths {
    fn parse(raw: Option<&String>) -> Result<AllowedPaths, String> {
        let Some(raw) = raw.map(|r| r.trim()).filter(|r| !r.is_empty()) else {
            return Ok(AllowedPaths::default());
        };
        let mut paths = Vec::new();
        for p in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let path = Path::new(p);
            if !path.is_absolute() {
                return Err(format!("Path {p} in allowed.paths is not absolute"));
            }
            paths.push(normalize(path));
        }
        Ok(AllowedPaths(paths))
    }

    fn check(&self, path: &str) -> Result<PathBuf, String> {
        let normalized = normalize(Path::new(path));
        if self.0.is_empty() || self.0.iter().any(|a| normalized.starts_with(a)) {
            Ok(normalized)
        } else {
            Err(format!(
                "The path {path} is not allowed to be accessed (allowed.paths)"
            ))
        }
    }
}

struct FileProvider {
    allowed: AllowedPaths,
}

impl Provider for FileProvider {
    fn get(&self, path: &str, keys: &BTreeSet<String>) -> Result<BTreeMap<String, String>, String> {
        if path.is_empty() {
            return Ok(BTreeMap::new());
        }
        let file = self.allowed.check(path)?;
        let bytes = std::fs::read(&file)
            .map_err(|e| format!("Could not read properties from file {path}: {e}"))?;
        let all = super::properties::parse_properties(&bytes, false)
            .map_err(|e| format!("Could not read properties from file {path}: {e}"))?;
        Ok(all.into_iter().filter(|(k, _)| keys.contains(k)).collect())
    }
}

struct DirectoryProvider {
    allowed: AllowedPaths,
}

impl Provider for DirectoryProvider {
    fn get(&self, path: &str, keys: &BTreeSet<String>) -> Result<BTreeMap<String, String>, String> {
        if path.is_empty() {
            return Ok(BTreeMap::new());
        }
        let dir = self.allowed.check(path)?;
        let mut out = BTreeMap::new();
        for key in keys {
            // Only plain files directly in the directory.
            if key.is_empty() || key.contains('/') || key == "." || key == ".." {
                continue;
            }
            let file = dir.join(key);
            if !file.is_file() {
                continue;
            }
            let text = std::fs::read_to_string(&file)
                .map_err(|e| format!("Could not read file {}: {e}", file.display()))?;
            out.insert(key.clone(), text);
        }
        Ok(out)
    }
}

struct EnvProvider {
    allowlist: Regex,
}

impl Provider for EnvProvider {
    fn get(&self, path: &str, keys: &BTreeSet<String>) -> Result<BTreeMap<String, String>, String> {
        if !path.is_empty() {
            return Err(format!(
                "Path is not supported for EnvVarConfigProvider, invalid value '{path}'"
            ));
        }
        Ok(keys
            .iter()
            .filter(|k| self.allowlist.is_match(k))
            .filter_map(|k| std::env::var(k).ok().map(|v| (k.clone(), v)))
            .collect())
    }
}

/// Config provider classes beyond the built-ins: `(class, params)` → the configured provider,
/// or `None` when no plugin has the class.
pub type ExternalProviders<'a> =
    dyn Fn(&str, &Props) -> Option<Result<Box<dyn Provider>, String>> + 'a;

/// The config providers a worker declares.
#[derive(Default)]
pub struct ConfigProviders {
    providers: BTreeMap<String, Box<dyn Provider>>,
}

impl std::fmt::Debug for ConfigProviders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.providers.keys()).finish()
    }
}

/// The class a `config.providers.<name>.class` value names (full name or alias).
fn resolve_class(class: &str) -> Option<&'static str> {
    tributary_connector_api::alias::resolve(
        [FILE_PROVIDER, DIRECTORY_PROVIDER, ENV_PROVIDER],
        |full| (*full, "ConfigProvider"),
        class,
    )
    .found()
}

impl ConfigProviders {
    /// The providers declared in worker properties (built-in classes only).
    pub fn from_worker(props: &Props) -> Result<ConfigProviders, ProviderError> {
        Self::from_worker_with(props, &|_, _| None)
    }

    /// The providers declared in worker properties; a class that is not a built-in is asked
    /// of `external` (the plugin libraries) with the provider's `param.*` values.
    pub fn from_worker_with(
        props: &Props,
        external: &ExternalProviders<'_>,
    ) -> Result<ConfigProviders, ProviderError> {
        let names = props
            .get("config.providers")
            .map(|v| tributary_connector_api::config::split_list(v))
            .unwrap_or_default();
        let mut providers: BTreeMap<String, Box<dyn Provider>> = BTreeMap::new();
        for name in names {
            let class_key = format!("config.providers.{name}.class");
            let bad = |message: String| ProviderError {
                key: class_key.clone(),
                message,
            };
            let class = props
                .get(&class_key)
                .ok_or_else(|| bad(format!("{class_key} is required for provider {name}")))?;
            let prefix = format!("config.providers.{name}.param.");
            let params: Props = props
                .iter()
                .filter_map(|(k, v)| k.strip_prefix(&prefix).map(|k| (k.to_owned(), v.clone())))
                .collect();
            let Some(full) = resolve_class(class) else {
                let provider = external(class, &params).ok_or_else(|| {
                    bad(format!(
                        "unknown config provider class {class} (built-ins: FileConfigProvider, \
                         DirectoryConfigProvider, EnvVarConfigProvider; or a plugin's)"
                    ))
                })?;
                providers.insert(name, provider.map_err(bad)?);
                continue;
            };
            let param_error = |k: &str, message: String| ProviderError {
                key: format!("{prefix}{k}"),
                message,
            };
            let provider: Box<dyn Provider> = match full {
                ENV_PROVIDER => {
                    let pattern = params
                        .get("allowlist.pattern")
                        .map(String::as_str)
                        .unwrap_or(".*");
                    let allowlist = Regex::new(&format!("^(?:{pattern})$"))
                        .map_err(|e| param_error("allowlist.pattern", e.to_string()))?;
                    Box::new(EnvProvider { allowlist })
                }
                other => {
                    let allowed = AllowedPaths::parse(params.get("allowed.paths"))
                        .map_err(|e| param_error("allowed.paths", e))?;
                    if other == FILE_PROVIDER {
                        Box::new(FileProvider { allowed })
                    } else {
                        Box::new(DirectoryProvider { allowed })
                    }
                }
            };
            providers.insert(name, provider);
        }
        Ok(ConfigProviders { providers })
    }

    /// Resolves every placeholder in `props`. An error names the key whose value failed.
    pub fn resolve(&self, props: &Props) -> Result<Props, ProviderError> {
        if self.providers.is_empty() {
            return Ok(props.clone());
        }
        // Collect (provider, path) → keys, then ask each provider once.
        let mut wanted: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
        let mut asked_by: BTreeMap<(String, String), String> = BTreeMap::new();
        for (config_key, value) in props {
            for caps in PLACEHOLDER.captures_iter(value) {
                let provider = caps.get(1).map_or("", |m| m.as_str()).to_owned();
                if !self.providers.contains_key(&provider) {
                    continue;
                }
                let path = caps.get(2).map_or("", |m| m.as_str()).to_owned();
                let key = caps.get(3).map_or("", |m| m.as_str()).to_owned();
                asked_by
                    .entry((provider.clone(), path.clone()))
                    .or_insert_with(|| config_key.clone());
                wanted.entry((provider, path)).or_default().insert(key);
            }
        }
        if wanted.is_empty() {
            return Ok(props.clone());
        }
        let mut found: BTreeMap<(String, String), BTreeMap<String, String>> = BTreeMap::new();
        for ((provider, path), keys) in wanted {
            let Some(p) = self.providers.get(&provider) else {
                continue;
            };
            let values = p.get(&path, &keys).map_err(|message| ProviderError {
                key: asked_by
                    .get(&(provider.clone(), path.clone()))
                    .cloned()
                    .unwrap_or_default(),
                message: format!("config provider '{provider}': {message}"),
            })?;
            found.insert((provider, path), values);
        }
        Ok(props
            .iter()
            .map(|(k, v)| {
                let resolved = PLACEHOLDER.replace_all(v, |caps: &regex::Captures<'_>| {
                    let provider = caps.get(1).map_or("", |m| m.as_str());
                    let path = caps.get(2).map_or("", |m| m.as_str());
                    let key = caps.get(3).map_or("", |m| m.as_str());
                    found
                        .get(&(provider.to_owned(), path.to_owned()))
                        .and_then(|values| values.get(key))
                        .cloned()
                        .unwrap_or_else(|| caps[0].to_owned())
                });
                (k.clone(), resolved.into_owned())
            })
            .collect())
    }
}

/// The values config providers resolved for one config, to take back out of any text a user
/// sees (validation messages, status traces): each is replaced by the placeholder it came
/// from. Values shorter than three characters are left alone (they would match everywhere).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Secrets(Vec<(String, String)>);

impl Secrets {
    /// The (resolved, raw) values of every key of `raw` that holds a placeholder.
    pub fn of(raw: &Props, resolved: &Props) -> Secrets {
        let mut pairs: Vec<(String, String)> = raw
            .iter()
            .filter(|(_, v)| has_placeholder(v))
            .filter_map(|(k, v)| {
                let value = resolved.get(k)?;
                (value != v && value.chars().count() >= 3).then(|| (value.clone(), v.clone()))
            })
            .collect();
        // Longest first, so a secret containing another is replaced whole.
        pairs.sort_by_key(|p| std::cmp::Reverse(p.0.len()));
        Secrets(pairs)
    }

    /// Adds another config's secrets.
    pub fn extend(&mut self, other: Secrets) {
        self.0.extend(other.0);
        self.0.sort_by_key(|p| std::cmp::Reverse(p.0.len()));
    }

    /// `text` with every resolved value replaced by its placeholder.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for (secret, raw) in &self.0 {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), raw);
            }
        }
        out
    }
}

/// Kafka's `reverseTransform`: in task configs generated from a resolved connector config,
/// every key whose raw connector value holds a placeholder gets the raw value back, so stored
/// task configs keep placeholders (they are resolved again when each task starts).
pub fn restore_placeholders(raw_connector: &Props, task_configs: &mut [Props]) {
    let with_placeholders: Vec<(&String, &String)> = raw_connector
        .iter()
        .filter(|(_, v)| has_placeholder(v))
        .collect();
    for config in task_configs {
        for (k, raw) in &with_placeholders {
            if let Some(v) = config.get_mut(*k) {
                v.clone_from(raw);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> Props {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn providers(extra: &[(&str, &str)]) -> ConfigProviders {
        let mut p = props(&[
            ("config.providers", "file,dir,env"),
            ("config.providers.file.class", FILE_PROVIDER),
            ("config.providers.dir.class", "DirectoryConfigProvider"),
            ("config.providers.env.class", ENV_PROVIDER),
        ]);
        p.extend(props(extra));
        ConfigProviders::from_worker(&p).unwrap()
    }

    #[test]
    fn file_directory_and_env_placeholders() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secrets.properties");
        std::fs::write(&file, "db.password=s3cret\nuser = admin\n").unwrap();
        std::fs::write(dir.path().join("token"), "abc\n").unwrap();
        std::env::set_var("TRIBUTARY_TEST_PROVIDER_VAR", "from-env");
        let p = providers(&[]);
        let f = file.display().to_string();
        let d = dir.path().display().to_string();
        let raw = props(&[
            ("password", &format!("${{file:{f}:db.password}}")),
            (
                "mixed",
                &format!("u=${{file:{f}:user}};p=${{file:{f}:db.password}}"),
            ),
            ("token", &format!("${{dir:{d}:token}}")),
            ("env", "${env:TRIBUTARY_TEST_PROVIDER_VAR}"),
            ("missing", &format!("${{file:{f}:nope}}")),
            ("unknown", "${vault:secret/x:k}"),
            ("plain", "no placeholders"),
        ]);
        let resolved = p.resolve(&raw).unwrap();
        assert_eq!(resolved["password"], "s3cret");
        assert_eq!(resolved["mixed"], "u=admin;p=s3cret");
        assert_eq!(resolved["token"], "abc\n");
        assert_eq!(resolved["env"], "from-env");
        assert_eq!(
            resolved["missing"], raw["missing"],
            "unknown keys stay as written"
        );
        assert_eq!(resolved["unknown"], "${vault:secret/x:k}");
        assert_eq!(resolved["plain"], "no placeholders");
    }

    /// The file provider reads its files as the worker reads `.properties` files, so one that
    /// ends inside a byte-order mark is read, not a panic (see `properties::parse_properties`).
    #[test]
    fn file_ending_inside_a_bom_is_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secrets.properties");
        std::fs::write(&file, b"\xEF\xBB\xBFpw=s3cret\xC3").unwrap();
        let raw = props(&[("a", &format!("${{file:{}:pw}}", file.display()))]);
        let resolved = providers(&[]).resolve(&raw).unwrap();
        assert_eq!(resolved["a"], "s3cret\u{FFFD}");
    }

    #[test]
    fn errors_name_the_key() {
        let p = providers(&[]);
        let e = p
            .resolve(&props(&[("a", "${file:/no/such/file.properties:k}")]))
            .unwrap_err();
        assert_eq!(e.key, "a");
        assert!(e.message.contains("/no/such/file.properties"), "{e}");
        let e = p
            .resolve(&props(&[("b", "${env:some/path:HOME}")]))
            .unwrap_err();
        assert_eq!(e.key, "b");
        let e = ConfigProviders::from_worker(&props(&[
            ("config.providers", "x"),
            ("config.providers.x.class", "com.example.Vault"),
        ]))
        .unwrap_err();
        assert_eq!(e.key, "config.providers.x.class");
    }

    #[test]
    fn allowed_paths_and_allowlist_restrict_access() {
        let dir = tempfile::tempdir().unwrap();
        let inside = dir.path().join("ok.properties");
        std::fs::write(&inside, "k=v\n").unwrap();
        let allowed = dir.path().display().to_string();
        let p = providers(&[("config.providers.file.param.allowed.paths", &allowed)]);
        let ok = p
            .resolve(&props(&[(
                "a",
                &format!("${{file:{}:k}}", inside.display()),
            )]))
            .unwrap();
        assert_eq!(ok["a"], "v");
        let escape = format!("${{file:{}/../etc/passwd:root}}", allowed);
        assert!(p.resolve(&props(&[("a", &escape)])).is_err());

        std::env::set_var("TRIBUTARY_ALLOWED_VAR", "yes");
        std::env::set_var("TRIBUTARY_HIDDEN_VAR", "no");
        let p = providers(&[(
            "config.providers.env.param.allowlist.pattern",
            "TRIBUTARY_ALLOWED_.*",
        )]);
        let r = p
            .resolve(&props(&[
                ("a", "${env:TRIBUTARY_ALLOWED_VAR}"),
                ("b", "${env:TRIBUTARY_HIDDEN_VAR}"),
            ]))
            .unwrap();
        assert_eq!(r["a"], "yes");
        assert_eq!(r["b"], "${env:TRIBUTARY_HIDDEN_VAR}");
    }

    #[test]
    fn secrets_are_scrubbed_from_text() {
        let raw = props(&[
            ("a", "${file:/s.properties:pw}"),
            ("b", "${env:X}"),
            ("c", "plain"),
        ]);
        let resolved = props(&[("a", "hunter22"), ("b", "ok"), ("c", "plain")]);
        let secrets = Secrets::of(&raw, &resolved);
        assert_eq!(
            secrets.scrub("login failed for hunter22 (ok)"),
            "login failed for ${file:/s.properties:pw} (ok)",
            "short values are not scrubbed"
        );
    }

    #[test]
    fn task_configs_get_their_placeholders_back() {
        let raw = props(&[("file", "${env:IN}"), ("topic", "t")]);
        let mut tasks = vec![props(&[("file", "/secret/in.txt"), ("topic", "t")])];
        restore_placeholders(&raw, &mut tasks);
        assert_eq!(tasks[0]["file"], "${env:IN}");
        assert_eq!(tasks[0]["topic"], "t");
    }
}
