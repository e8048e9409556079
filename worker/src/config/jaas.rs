//! JAAS login configuration text, read as Java reads it: the one entry of a client's
//! `sasl.jaas.config` (Kafka's `JaasConfig`) and the named sections of a JAAS file given with
//! `java.security.auth.login.config` (the JDK's `ConfigFile`). Both use `java.io.StreamTokenizer`
//! with its defaults: `//` and `/* */` comments, `"` and `'` quotes with Java escapes, words
//! made of letters, digits, `.`, `-`, `_` and `$`.

use std::collections::BTreeMap;

/// One login module entry: its class, and its options (the last of a repeated key wins).
#[derive(Debug, Clone, PartialEq)]
pub struct JaasEntry {
    pub module: String,
    pub options: BTreeMap<String, String>,
}

#[derive(Debug, PartialEq)]
enum Token {
    Word(String),
    Quoted(String),
    /// A token that starts with a digit, `.` or `-`.
    Number,
    Char(char),
}

fn is_word_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == '$' || ('\u{a0}'..='\u{ff}').contains(&c)
}

fn is_word_part(c: char) -> bool {
    is_word_start(c) || c.is_ascii_digit() || c == '.' || c == '-'
}

/// Kafka's `JaasConfig` tokenizer (`java.io.StreamTokenizer` with its defaults).
fn tokens(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c <= ' ' {
            i += 1;
        } else if c == '/' && chars.get(i + 1) == Some(&'*') {
            i += 2;
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                i += 1;
            }
            i += 2;
        } else if c == '/' {
            // `//` and a lone `/` both comment out the rest of the line.
            while i < chars.len() && chars[i] != '\n' && chars[i] != '\r' {
                i += 1;
            }
        } else if c == '"' || c == '\'' {
            let quote = c;
            let mut s = String::new();
            i += 1;
            while i < chars.len() && chars[i] != quote && chars[i] != '\n' && chars[i] != '\r' {
                if chars[i] == '\\' && i + 1 < chars.len() {
                    i += 1;
                    let e = chars[i];
                    match e {
                        'n' => s.push('\n'),
                        't' => s.push('\t'),
                        'r' => s.push('\r'),
                        'b' => s.push('\u{8}'),
                        'f' => s.push('\u{c}'),
                        'a' => s.push('\u{7}'),
                        'v' => s.push('\u{b}'),
                        '0'..='7' => {
                            // Up to three octal digits, at most \377.
                            let mut n = e as u32 - '0' as u32;
                            let max_digits = if e <= '3' { 3 } else { 2 };
                            let mut digits = 1;
                            while digits < max_digits
                                && chars.get(i + 1).is_some_and(|d| ('0'..='7').contains(d))
                            {
                                i += 1;
                                n = n * 8 + (chars[i] as u32 - '0' as u32);
                                digits += 1;
                            }
                            s.push(char::from_u32(n).unwrap_or('\u{fffd}'));
                        }
                        other => s.push(other),
                    }
                } else {
                    s.push(chars[i]);
                }
                i += 1;
            }
            if i < chars.len() && chars[i] == quote {
                i += 1;
            }
            out.push(Token::Quoted(s));
        } else if is_word_start(c) {
            let start = i;
            while i < chars.len() && is_word_part(chars[i]) {
                i += 1;
            }
            out.push(Token::Word(chars[start..i].iter().collect()));
        } else if c.is_ascii_digit() || c == '.' || c == '-' {
            while i < chars.len()
                && (chars[i].is_ascii_digit() || chars[i] == '.' || chars[i] == '-')
            {
                i += 1;
            }
            out.push(Token::Number);
        } else {
            out.push(Token::Char(c));
            i += 1;
        }
    }
    out
}

/// Parses login module entries from `tokens[*i..]` until the end or a `}` (which is not
/// consumed).
fn entries(tokens: &[Token], i: &mut usize) -> Result<Vec<JaasEntry>, String> {
    let mut out = Vec::new();
    while *i < tokens.len() && tokens[*i] != Token::Char('}') {
        let Token::Word(module) = &tokens[*i] else {
            return Err("JAAS config entry must start with a login module class name".into());
        };
        *i += 1;
        match tokens.get(*i) {
            Some(Token::Word(flag))
                if ["required", "requisite", "sufficient", "optional"]
                    .contains(&flag.to_ascii_lowercase().as_str()) => {}
            _ => {
                return Err(format!(
                    "Invalid control flag in JAAS config entry for {module}: expected required, \
                     requisite, sufficient or optional"
                ))
            }
        }
        *i += 1;
        let mut options = BTreeMap::new();
        loop {
            match tokens.get(*i) {
                Some(Token::Char(';')) => {
                    *i += 1;
                    break;
                }
                Some(Token::Word(key)) => {
                    if tokens.get(*i + 1) != Some(&Token::Char('=')) {
                        return Err(format!(
                            "Value not specified for key '{key}' in JAAS config"
                        ));
                    }
                    let value = match tokens.get(*i + 2) {
                        Some(Token::Word(v)) | Some(Token::Quoted(v)) => v.clone(),
                        _ => {
                            return Err(format!(
                                "Value not specified for key '{key}' in JAAS config"
                            ))
                        }
                    };
                    options.insert(key.clone(), value);
                    *i += 3;
                }
                None => return Err("JAAS config entry not terminated by semi-colon".into()),
                Some(_) => {
                    return Err(format!(
                        "Unexpected token in JAAS config entry for {module}: options are \
                         key=value pairs; quote values that hold other characters"
                    ))
                }
            }
        }
        out.push(JaasEntry {
            module: module.clone(),
            options,
        });
    }
    Ok(out)
}

/// Parses the one login module entry a client's `sasl.jaas.config` must hold.
pub fn parse_one(text: &str) -> Result<JaasEntry, String> {
    let tokens = tokens(text);
    let mut i = 0;
    let mut found = entries(&tokens, &mut i)?;
    if i < tokens.len() {
        return Err("Unexpected '}' in JAAS config".into());
    }
    if found.len() != 1 {
        return Err(format!(
            "JAAS config property contains {} login modules, should be 1 module",
            found.len()
        ));
    }
    Ok(found.remove(0))
}

/// Parses a JAAS file (`Name { module flag key=value …; … };` sections). Option values may not
/// use `${…}` system-property expansion (there is no JVM here); such a value is an error.
pub fn parse_file(text: &str) -> Result<BTreeMap<String, Vec<JaasEntry>>, String> {
    let tokens = tokens(text);
    let mut sections = BTreeMap::new();
    let mut i = 0;
    while i < tokens.len() {
        let name = match &tokens[i] {
            Token::Word(w) | Token::Quoted(w) => w.clone(),
            _ => return Err("expected a login configuration name".into()),
        };
        i += 1;
        if tokens.get(i) != Some(&Token::Char('{')) {
            return Err(format!(
                "expected '{{' after the login configuration name {name}"
            ));
        }
        i += 1;
        let found = entries(&tokens, &mut i)?;
        if tokens.get(i) != Some(&Token::Char('}')) {
            return Err(format!("login configuration {name} is not closed by '}}'"));
        }
        i += 1;
        if tokens.get(i) != Some(&Token::Char(';')) {
            return Err(format!("expected ';' after the login configuration {name}"));
        }
        i += 1;
        for entry in &found {
            if let Some((key, _)) = entry.options.iter().find(|(_, v)| v.contains("${")) {
                return Err(format!(
                    "option {key} of {} in login configuration {name} uses ${{…}} expansion, \
                     which needs a JVM; write the value out",
                    entry.module
                ));
            }
        }
        // The JDK keeps the entries of a repeated name together.
        sections.entry(name).or_insert_with(Vec::new).extend(found);
    }
    Ok(sections)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tokenizer_follows_javas() {
        let e = parse_one("/* c */ org.x.M REQUIRED a = \"x\\ty\" b='\\101' // comment\n c=word;")
            .unwrap();
        assert_eq!(e.module, "org.x.M");
        assert_eq!(e.options["a"], "x\ty");
        assert_eq!(e.options["b"], "A");
        assert_eq!(e.options["c"], "word");
        assert!(parse_one("org.x.M maybe a=\"1\";").is_err());
        assert!(parse_one("").unwrap_err().contains("0 login modules"));
        assert!(parse_one("a.B required; c.D required;")
            .unwrap_err()
            .contains("2 login modules"));
    }

    #[test]
    fn a_jaas_file_has_named_sections() {
        let text = r#"
            // Kafka Connect's REST basic authentication
            KafkaConnect {
              org.apache.kafka.connect.rest.basic.auth.extension.PropertyFileLoginModule required
              file="/etc/kafka/connect.password";
            };
            "Other" { a.B optional; c.D sufficient x=y; };
        "#;
        let sections = parse_file(text).unwrap();
        let connect = &sections["KafkaConnect"];
        assert_eq!(connect.len(), 1);
        assert_eq!(connect[0].options["file"], "/etc/kafka/connect.password");
        assert_eq!(sections["Other"].len(), 2);
        assert!(parse_file("").unwrap().is_empty());
        for bad in [
            "KafkaConnect { a.B required; }",
            "KafkaConnect a.B required; };",
            "KafkaConnect { a.B required;",
            "KafkaConnect { a.B required file=\"${user.home}/p\"; };",
            "{ a.B required; };",
        ] {
            assert!(parse_file(bad).is_err(), "{bad}");
        }
    }
}
