//! `connection.url` in JDBC form, with `connection.user` / `connection.password`, turned into
//! the database's dialect and a URL sqlx connects with.
//!
//! * `jdbc:postgresql://host[:port]/database[?params]` (and `jdbc:postgresql:database` for
//!   localhost): `user`, `password`, `sslmode` (`ssl=true` is `require`), `sslrootcert`,
//!   `sslcert`, `sslkey`, `ApplicationName` are kept; several hosts are refused (sqlx connects to
//!   one).
//! * `jdbc:mysql://…` and `jdbc:mariadb://…`: `user`, `password`, `sslMode` (or `useSSL=true`,
//!   `requireSSL=true`), `serverSslCert` (the CA), `characterEncoding` are kept.
//! * `jdbc:sqlite:<path>` and `jdbc:sqlite::memory:`.
//!
//! Other JDBC driver parameters change nothing here and are ignored. `connection.user` and
//! `connection.password`, when set, are used instead of the URL's. The password is never
//! part of an error or of [`JdbcUrl`]'s `Debug` and `Display`.

use std::fmt;

use crate::dialect::Dialect;
use crate::ConfigError;

/// `connection.url`.
pub const CONNECTION_URL: &str = "connection.url";

/// A database to connect to.
#[derive(Clone, PartialEq, Eq)]
pub struct JdbcUrl {
    pub dialect: Dialect,
    /// What sqlx connects with (holds the password).
    sqlx: String,
    /// The same with the password replaced, for logs.
    shown: String,
}

impl JdbcUrl {
    /// The URL sqlx connects with. It holds the password: never log it.
    pub fn sqlx_url(&self) -> &str {
        &self.sqlx
    }
}

impl fmt::Display for JdbcUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

impl fmt::Debug for JdbcUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JdbcUrl({:?}, {})", self.dialect, self.shown)
    }
}

fn bad(message: impl Into<String>) -> ConfigError {
    ConfigError::new(CONNECTION_URL, message)
}

/// Parses `connection.url` with the credentials of `connection.user` / `connection.password`.
pub fn parse(
    jdbc: &str,
    user: Option<&str>,
    password: Option<&str>,
) -> Result<JdbcUrl, ConfigError> {
    let jdbc = jdbc.trim();
    let rest = jdbc
        .strip_prefix("jdbc:")
        .ok_or_else(|| bad("a JDBC URL starts with jdbc: (e.g. jdbc:postgresql://host:5432/db)"))?;
    let (subprotocol, _) = rest
        .split_once(':')
        .ok_or_else(|| bad("a JDBC URL names its database after jdbc:"))?;
    let dialect = Dialect::of_subprotocol(subprotocol).ok_or_else(|| {
        bad(format!(
            "jdbc:{subprotocol} is not a database this connector speaks to; expected \
             jdbc:postgresql:, jdbc:mysql:, jdbc:mariadb: or jdbc:sqlite:"
        ))
    })?;
    let user = user.map(str::trim).filter(|u| !u.is_empty());
    let password = password.filter(|p| !p.is_empty());
    match dialect {
        Dialect::Sqlite => sqlite(&rest["sqlite:".len()..]),
        Dialect::PostgreSql => server(dialect, rest, user, password),
        Dialect::MySql => server(dialect, rest, user, password),
    }
}

fn sqlite(path: &str) -> Result<JdbcUrl, ConfigError> {
    let path = path.trim();
    if path.is_empty() {
        return Err(bad("jdbc:sqlite: needs a file path (or :memory:)"));
    }
    let sqlx = if path == ":memory:" {
        "sqlite::memory:".to_owned()
    } else {
        // As the SQLite JDBC driver, a missing database file is created.
        let path = path.strip_prefix("file:").unwrap_or(path);
        let separator = if path.contains('?') { '&' } else { '?' };
        format!("sqlite://{path}{separator}mode=rwc")
    };
    Ok(JdbcUrl {
        dialect: Dialect::Sqlite,
        shown: sqlx.clone(),
        sqlx,
    })
}

/// PostgreSQL and MySQL URLs: `<subprotocol>://host[:port]/database[?params]`.
fn server(
    dialect: Dialect,
    rest: &str,
    user: Option<&str>,
    password: Option<&str>,
) -> Result<JdbcUrl, ConfigError> {
    let (subprotocol, after) = rest.split_once(':').unwrap_or((rest, ""));
    // `jdbc:postgresql:database` means localhost.
    let spec = match after.strip_prefix("//") {
        Some(spec) => spec.to_owned(),
        None if dialect == Dialect::PostgreSql => format!("localhost/{after}"),
        None => {
            return Err(bad(format!(
                "expected jdbc:{subprotocol}://host:port/database"
            )))
        }
    };
    let (authority_path, query) = spec.split_once('?').unwrap_or((&spec, ""));
    let (authority, database) = authority_path
        .split_once('/')
        .unwrap_or((authority_path, ""));
    if authority.contains(',') {
        return Err(bad(
            "several hosts in one URL are not supported; name one host".to_owned(),
        ));
    }
    // JDBC URLs may carry credentials as `user:password@` too (MySQL's driver allows it).
    let (url_credentials, host) = match authority.rsplit_once('@') {
        Some((c, h)) => (Some(c), h),
        None => (None, authority),
    };
    if host.is_empty() {
        return Err(bad("the URL names no host"));
    }
    let scheme = match dialect {
        Dialect::PostgreSql => "postgres",
        _ => "mysql",
    };
    let base = format!("{scheme}://{host}/");
    let mut url = url::Url::parse(&base).map_err(|e| bad(format!("bad host: {e}")))?;
    url.set_path(database);

    let params: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let param = |name: &str| {
        params
            .iter()
            .rev()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let (credential_user, credential_password) = match url_credentials {
        Some(c) => match c.split_once(':') {
            Some((u, p)) => (Some(u), Some(p)),
            None => (Some(c), None),
        },
        None => (None, None),
    };
    let user = user.or(param("user")).or(credential_user);
    let password = password.or(param("password")).or(credential_password);
    if let Some(user) = user {
        url.set_username(user)
            .map_err(|_| ConfigError::new("connection.user", "cannot be used in a URL"))?;
    }
    let mut shown = url.clone();
    if let Some(password) = password {
        url.set_password(Some(password))
            .map_err(|_| ConfigError::new("connection.password", "cannot be used in a URL"))?;
        let _ = shown.set_password(Some("[hidden]"));
    }

    let mut kept: Vec<(&str, String)> = Vec::new();
    match dialect {
        Dialect::PostgreSql => {
            let sslmode = match param("sslmode") {
                Some(mode) => {
                    let mode = mode.to_ascii_lowercase();
                    if ![
                        "disable",
                        "allow",
                        "prefer",
                        "require",
                        "verify-ca",
                        "verify-full",
                    ]
                    .contains(&mode.as_str())
                    {
                        return Err(bad(format!(
                            "sslmode={mode}: expected disable, allow, prefer, require, \
                             verify-ca or verify-full"
                        )));
                    }
                    Some(mode)
                }
                None if param("ssl").is_some_and(|v| v.eq_ignore_ascii_case("true")) => {
                    Some("require".to_owned())
                }
                None => None,
            };
            if let Some(mode) = sslmode {
                kept.push(("sslmode", mode));
            }
            for (jdbc, sqlx) in [
                ("sslrootcert", "sslrootcert"),
                ("sslcert", "sslcert"),
                ("sslkey", "sslkey"),
                ("ApplicationName", "application_name"),
            ] {
                if let Some(v) = param(jdbc) {
                    kept.push((sqlx, v.to_owned()));
                }
            }
        }
        _ => {
            let ssl_mode = match param("sslMode") {
                Some(mode) => {
                    let mode = mode.to_ascii_uppercase();
                    let sqlx = match mode.as_str() {
                        "DISABLED" => "disabled",
                        "PREFERRED" => "preferred",
                        "REQUIRED" => "required",
                        "VERIFY_CA" => "verify_ca",
                        "VERIFY_IDENTITY" => "verify_identity",
                        _ => {
                            return Err(bad(format!(
                                "sslMode={mode}: expected DISABLED, PREFERRED, REQUIRED, \
                                 VERIFY_CA or VERIFY_IDENTITY"
                            )))
                        }
                    };
                    Some(sqlx)
                }
                None if ["useSSL", "requireSSL"]
                    .iter()
                    .any(|k| param(k).is_some_and(|v| v.eq_ignore_ascii_case("true"))) =>
                {
                    Some("required")
                }
                None => None,
            };
            if let Some(mode) = ssl_mode {
                kept.push(("ssl-mode", mode.to_owned()));
            }
            if let Some(ca) = param("serverSslCert") {
                kept.push(("ssl-ca", ca.to_owned()));
            }
            if let Some(charset) = param("characterEncoding") {
                kept.push(("charset", charset.to_owned()));
            }
        }
    }
    if !kept.is_empty() {
        let mut pairs = url.query_pairs_mut();
        for (k, v) in &kept {
            pairs.append_pair(k, v);
        }
        drop(pairs);
        let mut pairs = shown.query_pairs_mut();
        for (k, v) in &kept {
            pairs.append_pair(k, v);
        }
    }
    Ok(JdbcUrl {
        dialect,
        sqlx: url.to_string(),
        shown: shown.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgresql_urls_become_sqlx_urls() {
        let u = parse(
            "jdbc:postgresql://db.example:5432/shop?user=app&password=s3cr%40t&sslmode=verify-full&sslrootcert=/ca.pem&loggerLevel=OFF",
            None,
            None,
        )
        .unwrap();
        assert_eq!(u.dialect, Dialect::PostgreSql);
        assert_eq!(
            u.sqlx_url(),
            "postgres://app:s3cr%40t@db.example:5432/shop?sslmode=verify-full&sslrootcert=%2Fca.pem"
        );
        assert!(!u.to_string().contains("s3cr"), "{u}");
        assert!(!format!("{u:?}").contains("s3cr"), "{u:?}");
        // connection.user / connection.password win over the URL's.
        let u = parse(
            "jdbc:postgresql://h/db?user=a&password=b&ssl=true",
            Some("connect"),
            Some("p@ss word"),
        )
        .unwrap();
        assert_eq!(
            u.sqlx_url(),
            "postgres://connect:p%40ss%20word@h/db?sslmode=require"
        );
        let u = parse("jdbc:postgresql:inventory", None, None).unwrap();
        assert_eq!(u.sqlx_url(), "postgres://localhost/inventory");
    }

    #[test]
    fn mysql_and_mariadb_urls_become_sqlx_urls() {
        let u = parse(
            "jdbc:mysql://127.0.0.1:3306/test?useSSL=true&serverTimezone=UTC",
            Some("root"),
            None,
        )
        .unwrap();
        assert_eq!(u.dialect, Dialect::MySql);
        assert_eq!(
            u.sqlx_url(),
            "mysql://root@127.0.0.1:3306/test?ssl-mode=required"
        );
        let u = parse(
            "jdbc:mariadb://user:pw@db:3307/app?sslMode=VERIFY_IDENTITY&serverSslCert=/ca.pem",
            None,
            None,
        )
        .unwrap();
        assert_eq!(
            u.sqlx_url(),
            "mysql://user:pw@db:3307/app?ssl-mode=verify_identity&ssl-ca=%2Fca.pem"
        );
        assert_eq!(
            u.to_string(),
            "mysql://user:%5Bhidden%5D@db:3307/app?ssl-mode=verify_identity&ssl-ca=%2Fca.pem"
        );
    }

    #[test]
    fn sqlite_urls_become_sqlx_urls() {
        let u = parse("jdbc:sqlite:/var/data/app.db", None, None).unwrap();
        assert_eq!(u.dialect, Dialect::Sqlite);
        assert_eq!(u.sqlx_url(), "sqlite:///var/data/app.db?mode=rwc");
        assert_eq!(
            parse("jdbc:sqlite::memory:", None, None)
                .unwrap()
                .sqlx_url(),
            "sqlite::memory:"
        );
    }

    #[test]
    fn bad_urls_name_the_key_and_never_quote_the_password() {
        for bad_url in [
            "postgresql://h/db",
            "jdbc:",
            "jdbc:sqlserver://h;databaseName=x",
            "jdbc:postgresql://h1:5432,h2:5432/db",
            "jdbc:mysql:db",
            "jdbc:sqlite:",
            "jdbc:postgresql://h/db?sslmode=sometimes&password=topsecret",
            "jdbc:mysql://h/db?sslMode=MAYBE&password=topsecret",
            "jdbc:postgresql:///db?password=topsecret",
        ] {
            let e = parse(bad_url, None, Some("topsecret")).unwrap_err();
            assert_eq!(e.key, CONNECTION_URL, "{bad_url}");
            assert!(!e.message.contains("topsecret"), "{bad_url}: {e}");
        }
    }
}
