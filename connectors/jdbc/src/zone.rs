//! `db.timezone`: a Java zone ID read as a chrono-tz zone. Region IDs (`Europe/Paris`) and
//! `UTC`/`GMT`/`Z` are themselves; offsets in Java's forms (`+02:00`, `-5`, `UTC+2`,
//! `GMT-05:00`) become the `Etc/GMT∓h` zone of that offset, so whole hours only.

use chrono_tz::Tz;

/// The zone `text` names, or `None`.
pub fn parse_zone(text: &str) -> Option<Tz> {
    let text = text.trim();
    if let Ok(zone) = text.parse::<Tz>() {
        return Some(zone);
    }
    if text == "Z" {
        return Some(Tz::UTC);
    }
    let offset = ["UTC", "GMT", "UT"]
        .iter()
        .find_map(|p| text.strip_prefix(p))
        .unwrap_or(text);
    let (sign, rest) = match offset.as_bytes().first()? {
        b'+' => (1, &offset[1..]),
        b'-' => (-1, &offset[1..]),
        _ => return None,
    };
    let (hours, minutes) = match rest.split_once(':') {
        Some((h, m)) => (h, m),
        None if rest.len() == 4 => rest.split_at(2),
        None => (rest, "0"),
    };
    let hours: i32 = hours.parse().ok()?;
    let minutes: i32 = minutes.parse().ok()?;
    if minutes != 0 || hours > 14 {
        return None;
    }
    if hours == 0 {
        return Some(Tz::UTC);
    }
    // POSIX's sign is the other way round: Etc/GMT-2 is two hours east of Greenwich.
    format!("Etc/GMT{}{hours}", if sign > 0 { '-' } else { '+' })
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_zone_ids_are_read() {
        assert_eq!(parse_zone("UTC"), Some(Tz::UTC));
        assert_eq!(parse_zone("Z"), Some(Tz::UTC));
        assert_eq!(parse_zone("Europe/Paris"), Some(Tz::Europe__Paris));
        assert_eq!(parse_zone("+02:00"), Some(Tz::Etc__GMTMinus2));
        assert_eq!(parse_zone("GMT-5"), Some(Tz::Etc__GMTPlus5));
        assert_eq!(parse_zone("UTC+0100"), Some(Tz::Etc__GMTMinus1));
        assert_eq!(parse_zone("-5"), Some(Tz::Etc__GMTPlus5));
        assert_eq!(parse_zone("EST"), Some(Tz::EST));
        assert_eq!(
            parse_zone("America/Argentina/Buenos_Aires"),
            Some(Tz::America__Argentina__Buenos_Aires)
        );
        assert_eq!(parse_zone("+05:30"), None, "not whole hours");
        assert_eq!(parse_zone("+19:00"), None);
        assert_eq!(parse_zone("UTC+"), None);
        assert_eq!(parse_zone("Europe Paris"), None);
        assert_eq!(parse_zone("Mars/Olympus"), None);
        assert_eq!(parse_zone(""), None);
    }
}
