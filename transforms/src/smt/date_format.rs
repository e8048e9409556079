//! Java `SimpleDateFormat` patterns (the `format` of `TimestampConverter`, the
//! `timestamp.format` of `TimestampRouter`), formatting and parsing in UTC as Connect does.
//!
//! The pattern is compiled the way Java compiles it (letters, `'quoted text'`, `''` for a
//! quote) into fields with their letter counts. `chrono` does the calendar work: civil dates
//! from epoch milliseconds and back, weekday and day-of-year arithmetic, and the English month,
//! weekday and AM/PM names (through its `format::Item`s, for formatting and for parsing). What
//! remains here are Java's rules that `chrono`'s own numeric items cannot express:
//!
//! * the letter count is a minimum width (`d` = `5`, `dd` = `05`, `ddd` = `005`), except that
//!   `yy` is the last two digits of the year, and `S` is the millisecond as a number
//!   (`S` = `5`, `SSS` = `005`), not a fraction;
//! * parsing accepts any number of digits unless the next pattern element is also a number
//!   (`yyyyMMdd`: then the count is the width), skips blanks before each field, ignores text
//!   after the end of the pattern, and is *lenient*: out-of-range values roll over
//!   (`2024-02-30` is `2024-03-01`, hour `24` is midnight of the next day);
//! * a year written as exactly two digits for `y` or `yy` falls in the hundred years starting
//!   80 years before the format was built (`yyy` and longer take the year as written);
//! * a parsed day of week is ignored when a day of month (or day of year) was parsed later;
//!   a day of week alone means its first occurrence in the month (January 1970 by default);
//! * zones: `Z` parses `+hhmm`, `X`/`XX`/`XXX` parse `Z`, `+hh`, `+hhmm`, `+hh:mm`, `z`
//!   parses `GMT`, `GMT+h:mm` or `+hhmm`, and formatting (always in UTC) writes `UTC`,
//!   `+0000` and `Z`.
//!
//! Supported letters: `G y M L d D F E u a H k K h m s S z Z X`. The week-based letters
//! `Y w W` depend on the JVM locale's week rules and are rejected with a config error.
//!
//! Names are English (Java uses the JVM's default locale; Connect workers normally run in an
//! English one). Differences from Java: dates before the Gregorian reform (1582-10-15) use the
//! proleptic Gregorian calendar where Java switches to the Julian one; `z` only knows the
//! names of UTC and GMT (Java knows every zone name of the JVM's locale); years beyond about
//! ±262,000 are rejected; a lone `F` takes Sunday as the week's first day (the US locale).

use std::fmt::Write as _;

use chrono::format::{Fixed, Item, Parsed};
use chrono::{DateTime, Datelike, Months, NaiveDate, Timelike};

const MILLIS_PER_DAY: i64 = 86_400_000;
/// `num_days_from_ce` of 1970-01-01 (day 1 is 0001-01-01, a Monday, as Java's fixed dates).
const EPOCH_DAY_FROM_CE: i64 = 719_163;
/// Java's `Calendar.SUNDAY`, the first day of the week in the default (US) locale.
const SUNDAY: i64 = 1;

/// A Java date field, as selected by a pattern letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    /// `G`
    Era,
    /// `y`
    Year,
    /// `M` and `L` (the same in English)
    Month,
    /// `d`
    DayOfMonth,
    /// `k`: 1-24
    HourOfDay1,
    /// `H`: 0-23
    HourOfDay0,
    /// `m`
    Minute,
    /// `s`
    Second,
    /// `S`
    Millisecond,
    /// `E`
    DayOfWeek,
    /// `D`
    DayOfYear,
    /// `F`
    DayOfWeekInMonth,
    /// `a`
    AmPm,
    /// `h`: 1-12
    Hour1,
    /// `K`: 0-11
    Hour0,
    /// `z`
    ZoneName,
    /// `Z`
    ZoneRfc822,
    /// `u`: 1 = Monday … 7 = Sunday
    IsoDayOfWeek,
    /// `X`
    ZoneIso,
}

impl Field {
    fn of(letter: char) -> Result<Field, Option<&'static str>> {
        Ok(match letter {
            'G' => Field::Era,
            'y' => Field::Year,
            'M' | 'L' => Field::Month,
            'd' => Field::DayOfMonth,
            'k' => Field::HourOfDay1,
            'H' => Field::HourOfDay0,
            'm' => Field::Minute,
            's' => Field::Second,
            'S' => Field::Millisecond,
            'E' => Field::DayOfWeek,
            'D' => Field::DayOfYear,
            'F' => Field::DayOfWeekInMonth,
            'a' => Field::AmPm,
            'h' => Field::Hour1,
            'K' => Field::Hour0,
            'z' => Field::ZoneName,
            'Z' => Field::ZoneRfc822,
            'u' => Field::IsoDayOfWeek,
            'X' => Field::ZoneIso,
            'Y' => return Err(Some("week year")),
            'w' => return Err(Some("week in year")),
            'W' => return Err(Some("week in month")),
            _ => return Err(None),
        })
    }

    /// Java reads exactly `count` characters for this field when the next pattern element is
    /// this field (so `yyyyMMdd` splits `20240115`).
    fn obeys_count(self, count: usize) -> bool {
        match self {
            Field::Month => count <= 2,
            Field::Year
            | Field::DayOfMonth
            | Field::HourOfDay1
            | Field::HourOfDay0
            | Field::Minute
            | Field::Second
            | Field::Millisecond
            | Field::DayOfYear
            | Field::DayOfWeekInMonth
            | Field::Hour1
            | Field::Hour0
            | Field::IsoDayOfWeek => true,
            _ => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(String),
    Field(Field, usize),
}

/// A compiled Java `SimpleDateFormat` pattern whose time zone is UTC.
#[derive(Debug, Clone)]
pub struct JavaDateFormat {
    pattern: String,
    tokens: Vec<Token>,
    /// Two-digit years are read into the hundred years starting here (Java: 80 years before
    /// the format was created).
    century_start_millis: i64,
    century_start_year: i64,
}

impl JavaDateFormat {
    /// Compiles a pattern as `new SimpleDateFormat(pattern)` does, with the two-digit-year
    /// window starting 80 years before now.
    pub fn parse_pattern(pattern: &str) -> Result<JavaDateFormat, String> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        JavaDateFormat::parse_pattern_at(pattern, now)
    }

    /// [`parse_pattern`](Self::parse_pattern) as if the current time were `now_millis`.
    pub fn parse_pattern_at(pattern: &str, now_millis: i64) -> Result<JavaDateFormat, String> {
        let tokens = compile(pattern)?;
        let start = DateTime::from_timestamp_millis(now_millis)
            .map(|d| d.naive_utc())
            .and_then(|d| d.checked_sub_months(Months::new(80 * 12)))
            .ok_or_else(|| format!("the current time {now_millis} is out of range"))?;
        Ok(JavaDateFormat {
            pattern: pattern.to_owned(),
            tokens,
            century_start_millis: start.and_utc().timestamp_millis(),
            century_start_year: i64::from(start.year()),
        })
    }

    /// The pattern as given (Java's `toPattern`).
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// Formats milliseconds since the epoch in UTC. Fails only for instants outside the
    /// supported years (about ±262,000).
    pub fn format_millis(&self, millis: i64) -> Result<String, String> {
        let dt = DateTime::from_timestamp_millis(millis)
            .ok_or_else(|| format!("timestamp {millis} is out of the supported range"))?
            .naive_utc();
        let mut out = String::with_capacity(self.pattern.len() + 8);
        let text = |out: &mut String, fixed: Fixed| {
            // Writing to a String cannot fail.
            let _ = write!(
                out,
                "{}",
                dt.format_with_items(std::iter::once(Item::Fixed(fixed)))
            );
        };
        let pad = |out: &mut String, value: i64, width: usize| {
            let _ = write!(out, "{value:0width$}");
        };
        for token in &self.tokens {
            let (field, count) = match token {
                Token::Literal(s) => {
                    out.push_str(s);
                    continue;
                }
                Token::Field(field, count) => (*field, *count),
            };
            let year = i64::from(dt.year());
            let hour = i64::from(dt.hour());
            match field {
                Field::Era => out.push_str(match (year > 0, count >= 4) {
                    (true, false) => "AD",
                    (true, true) => "Anno Domini",
                    (false, false) => "BC",
                    (false, true) => "Before Christ",
                }),
                Field::Year => {
                    let year_of_era = if year > 0 { year } else { 1 - year };
                    if count == 2 {
                        pad(&mut out, year_of_era % 100, 2);
                    } else {
                        pad(&mut out, year_of_era, count);
                    }
                }
                Field::Month => match count {
                    1 | 2 => pad(&mut out, i64::from(dt.month()), count),
                    3 => text(&mut out, Fixed::ShortMonthName),
                    _ => text(&mut out, Fixed::LongMonthName),
                },
                Field::DayOfMonth => pad(&mut out, i64::from(dt.day()), count),
                Field::HourOfDay1 => pad(&mut out, if hour == 0 { 24 } else { hour }, count),
                Field::HourOfDay0 => pad(&mut out, hour, count),
                Field::Minute => pad(&mut out, i64::from(dt.minute()), count),
                Field::Second => pad(&mut out, i64::from(dt.second()), count),
                Field::Millisecond => pad(&mut out, i64::from(dt.nanosecond() / 1_000_000), count),
                Field::DayOfWeek if count >= 4 => text(&mut out, Fixed::LongWeekdayName),
                Field::DayOfWeek => text(&mut out, Fixed::ShortWeekdayName),
                Field::DayOfYear => pad(&mut out, i64::from(dt.ordinal()), count),
                Field::DayOfWeekInMonth => pad(&mut out, i64::from((dt.day() - 1) / 7 + 1), count),
                Field::AmPm => text(&mut out, Fixed::UpperAmPm),
                Field::Hour1 => pad(&mut out, if hour % 12 == 0 { 12 } else { hour % 12 }, count),
                Field::Hour0 => pad(&mut out, hour % 12, count),
                Field::ZoneName if count >= 4 => out.push_str("Coordinated Universal Time"),
                Field::ZoneName => out.push_str("UTC"),
                Field::ZoneRfc822 => out.push_str("+0000"),
                Field::IsoDayOfWeek => pad(
                    &mut out,
                    i64::from(dt.weekday().number_from_monday()),
                    count,
                ),
                Field::ZoneIso => out.push('Z'),
            }
        }
        Ok(out)
    }

    /// Parses text to milliseconds since the epoch, as Java's lenient `SimpleDateFormat.parse`
    /// in UTC does (text after the end of the pattern is ignored).
    pub fn parse_to_millis(&self, text: &str) -> Result<i64, String> {
        let fail = || format!("Unparseable date: \"{text}\"");
        let mut fields = CalendarFields::default();
        let mut ambiguous_year = false;
        let mut pos = 0;
        for (i, token) in self.tokens.iter().enumerate() {
            match token {
                Token::Literal(lit) => {
                    if !text[pos..].starts_with(lit.as_str()) {
                        return Err(fail());
                    }
                    pos += lit.len();
                }
                Token::Field(field, count) => {
                    let obey_count = matches!(
                        self.tokens.get(i + 1),
                        Some(Token::Field(next, n)) if next.obeys_count(*n)
                    );
                    let scan = FieldScan {
                        text,
                        start: pos,
                        field: *field,
                        count: *count,
                        obey_count,
                    };
                    pos = self
                        .parse_field(&scan, &mut fields, &mut ambiguous_year)
                        .ok_or_else(fail)?;
                }
            }
        }
        let millis = fields.establish(0).ok_or_else(fail)?;
        if ambiguous_year && millis < self.century_start_millis {
            return fields.establish(100).ok_or_else(fail);
        }
        Ok(millis)
    }

    /// Parses one field at `scan.start`; the position after it, or `None` on a mismatch.
    fn parse_field(
        &self,
        scan: &FieldScan<'_>,
        fields: &mut CalendarFields,
        ambiguous_year: &mut bool,
    ) -> Option<usize> {
        let FieldScan {
            text,
            start,
            field,
            count,
            ..
        } = *scan;
        // Blanks before a field are skipped (numbers and `X` start after them; names are
        // matched where the field starts, as Java does); the text must not end here.
        let pos = start + text[start..].len() - text[start..].trim_start_matches([' ', '\t']).len();
        if pos >= text.len() {
            return None;
        }
        let number = || scan.number(pos);
        match field {
            Field::Era => {
                let (value, end) = match_names(
                    text,
                    start,
                    &[
                        ("BC", 0),
                        ("AD", 1),
                        ("Before Christ", 0),
                        ("Anno Domini", 1),
                    ],
                )?;
                fields.set(ERA, value);
                Some(end)
            }
            Field::Year => {
                let (mut value, end) = number()?;
                let two_digits = count <= 2
                    && end - pos == 2
                    && text.as_bytes()[pos..end].iter().all(u8::is_ascii_digit);
                if two_digits {
                    let ambiguous = self.century_start_year % 100;
                    *ambiguous_year = value == ambiguous;
                    value += (self.century_start_year / 100) * 100
                        + if value < ambiguous { 100 } else { 0 };
                }
                fields.set(YEAR, value);
                Some(end)
            }
            Field::Month if count <= 2 => {
                let (value, end) = number()?;
                fields.set(MONTH, value - 1);
                Some(end)
            }
            Field::Month => {
                let (parsed, end) = chrono_text(text, start, Fixed::LongMonthName)?;
                fields.set(MONTH, i64::from(parsed.month()?) - 1);
                Some(end)
            }
            Field::DayOfWeek => {
                let (parsed, end) = chrono_text(text, start, Fixed::LongWeekdayName)?;
                // Java's day numbers: Sunday = 1 … Saturday = 7.
                fields.set(
                    DAY_OF_WEEK,
                    i64::from(parsed.weekday()?.number_from_sunday()),
                );
                Some(end)
            }
            Field::AmPm => {
                let (parsed, end) = chrono_text(text, start, Fixed::UpperAmPm)?;
                fields.set(AM_PM, i64::from(parsed.hour_div_12()?));
                Some(end)
            }
            Field::HourOfDay1 => {
                let (value, end) = number()?;
                fields.set(HOUR_OF_DAY, if value == 24 { 0 } else { value });
                Some(end)
            }
            Field::Hour1 => {
                let (value, end) = number()?;
                fields.set(HOUR, if value == 12 { 0 } else { value });
                Some(end)
            }
            Field::IsoDayOfWeek => {
                let (value, end) = number()?;
                // Monday = 1 … Sunday = 7 to Java's Sunday = 1 … Saturday = 7.
                let value = match value {
                    7 => SUNDAY,
                    1..=6 => value + 1,
                    other => other,
                };
                fields.set(DAY_OF_WEEK, value);
                Some(end)
            }
            Field::DayOfMonth
            | Field::HourOfDay0
            | Field::Minute
            | Field::Second
            | Field::Millisecond
            | Field::DayOfYear
            | Field::DayOfWeekInMonth
            | Field::Hour0 => {
                let (value, end) = number()?;
                let slot = match field {
                    Field::DayOfMonth => DAY_OF_MONTH,
                    Field::HourOfDay0 => HOUR_OF_DAY,
                    Field::Minute => MINUTE,
                    Field::Second => SECOND,
                    Field::Millisecond => MILLISECOND,
                    Field::DayOfYear => DAY_OF_YEAR,
                    Field::DayOfWeekInMonth => DAY_OF_WEEK_IN_MONTH,
                    _ => HOUR,
                };
                fields.set(slot, value);
                Some(end)
            }
            Field::ZoneName | Field::ZoneRfc822 => {
                let bytes = text.as_bytes();
                let (offset, end) = match bytes[pos] {
                    sign @ (b'+' | b'-') => numeric_zone(text, pos + 1, sign, 0, false)?,
                    b'G' | b'g'
                        if text
                            .get(start..start + 3)
                            .is_some_and(|g| g.eq_ignore_ascii_case("GMT")) =>
                    {
                        let after = start + 3;
                        match bytes.get(after) {
                            Some(&sign @ (b'+' | b'-')) => {
                                numeric_zone(text, after + 1, sign, 0, true)?
                            }
                            _ => (0, after),
                        }
                    }
                    _ => {
                        let (_, end) = match_names(
                            text,
                            pos,
                            &[
                                ("UTC", 0),
                                ("Coordinated Universal Time", 0),
                                ("GMT", 0),
                                ("Greenwich Mean Time", 0),
                            ],
                        )?;
                        (0, end)
                    }
                };
                fields.set(ZONE_OFFSET, offset);
                Some(end)
            }
            Field::ZoneIso => {
                let (offset, end) = match text.as_bytes()[pos] {
                    b'Z' => (0, pos + 1),
                    sign @ (b'+' | b'-') => numeric_zone(text, pos + 1, sign, count, count == 3)?,
                    _ => return None,
                };
                fields.set(ZONE_OFFSET, offset);
                Some(end)
            }
        }
    }
}

/// Where and how one field is parsed.
struct FieldScan<'a> {
    text: &'a str,
    /// Where the field starts (before any blanks).
    start: usize,
    field: Field,
    count: usize,
    /// The next pattern element is a number: read at most `count` characters from `start`.
    obey_count: bool,
}

impl FieldScan<'_> {
    /// An integer at `pos` (after the blanks), as Java's integer `DecimalFormat` reads it:
    /// an optional `-`, then digits; the value wraps to 32 bits as `Number.intValue` does.
    fn number(&self, pos: usize) -> Option<(i64, usize)> {
        let limit = if self.obey_count {
            // Java needs `count` characters from the field start (blanks included).
            let rest = &self.text[self.start..];
            match rest.char_indices().nth(self.count) {
                Some((i, _)) => self.start + i,
                None if rest.chars().count() == self.count => self.text.len(),
                None => return None,
            }
        } else {
            self.text.len()
        };
        let bytes = &self.text.as_bytes()[..limit.max(pos)];
        let mut i = pos;
        let negative = bytes.get(i) == Some(&b'-');
        if negative {
            i += 1;
        }
        let digits_start = i;
        let mut value: i64 = 0;
        let mut overflow = false;
        while let Some(d) = bytes.get(i).filter(|b| b.is_ascii_digit()) {
            match value
                .checked_mul(10)
                .and_then(|v| v.checked_add(i64::from(d - b'0')))
            {
                Some(v) => value = v,
                None => overflow = true,
            }
            i += 1;
        }
        if i == digits_start {
            return None;
        }
        let value = if negative { -value } else { value };
        let value = if overflow {
            // Java parses a Double here; its intValue saturates.
            if negative {
                i64::from(i32::MIN)
            } else {
                i64::from(i32::MAX)
            }
        } else {
            i64::from(value as i32)
        };
        Some((value, i))
    }
}

/// The longest of `names` matching (ignoring ASCII case) at `start`.
fn match_names(text: &str, start: usize, names: &[(&str, i64)]) -> Option<(i64, usize)> {
    names
        .iter()
        .filter(|(name, _)| {
            text.get(start..start + name.len())
                .is_some_and(|t| t.eq_ignore_ascii_case(name))
        })
        .max_by_key(|(name, _)| name.len())
        .map(|(name, value)| (*value, start + name.len()))
}

/// A month, weekday or AM/PM name at `start`, read by `chrono` (short or long form, any case).
fn chrono_text(text: &str, start: usize, fixed: Fixed) -> Option<(Parsed, usize)> {
    let rest = &text[start..];
    let mut parsed = Parsed::new();
    let remainder =
        chrono::format::parse_and_remainder(&mut parsed, rest, std::iter::once(Item::Fixed(fixed)))
            .ok()?;
    Some((parsed, start + rest.len() - remainder.len()))
}

/// A numeric zone offset after its sign, in milliseconds: `hh` then (unless `count` is 1)
/// `mm`, with a `:` between them when `colon`. With `count` 0 and `colon` (the `GMT+h:mm`
/// form) the hour may be one digit.
fn numeric_zone(
    text: &str,
    start: usize,
    sign: u8,
    count: usize,
    colon: bool,
) -> Option<(i64, usize)> {
    let bytes = text.as_bytes();
    let digit = |i: usize| {
        bytes
            .get(i)
            .filter(|b| b.is_ascii_digit())
            .map(|b| i64::from(b - b'0'))
    };
    let mut i = start;
    let mut hours = digit(i)?;
    i += 1;
    match digit(i) {
        Some(d) => {
            hours = hours * 10 + d;
            i += 1;
        }
        None if count == 0 && colon => {}
        None => return None,
    }
    if hours > 23 {
        return None;
    }
    let mut minutes = 0;
    if count != 1 {
        if colon {
            if bytes.get(i) != Some(&b':') {
                return None;
            }
            i += 1;
        }
        minutes = digit(i)? * 10 + digit(i + 1)?;
        i += 2;
        if minutes > 59 {
            return None;
        }
    }
    let offset = (hours * 60 + minutes) * 60_000;
    Some((if sign == b'-' { -offset } else { offset }, i))
}

/// Compiles a pattern into literals and fields, with Java's errors for bad patterns.
fn compile(pattern: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut literal = String::new();
    let mut in_quote = false;
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            // Two quotes are one quote, inside quoted text or not.
            if chars.peek() == Some(&'\'') {
                chars.next();
                literal.push('\'');
            } else {
                in_quote = !in_quote;
            }
            continue;
        }
        if in_quote || !c.is_ascii_alphabetic() {
            literal.push(c);
            continue;
        }
        let mut count = 1;
        while chars.peek() == Some(&c) {
            chars.next();
            count += 1;
        }
        let field = Field::of(c).map_err(|unsupported| match unsupported {
            Some(what) => format!(
                "pattern letter '{c}' ({what}) in date format pattern '{pattern}' is not \
                 supported: it depends on the JVM locale's week rules"
            ),
            None => format!("Illegal pattern character '{c}' in date format pattern '{pattern}'"),
        })?;
        if field == Field::ZoneIso && count > 3 {
            return Err(format!(
                "invalid ISO 8601 format: length={count} in date format pattern '{pattern}'"
            ));
        }
        if !literal.is_empty() {
            tokens.push(Token::Literal(std::mem::take(&mut literal)));
        }
        tokens.push(Token::Field(field, count));
    }
    if in_quote {
        return Err(format!(
            "Unterminated quote in date format pattern '{pattern}'"
        ));
    }
    if !literal.is_empty() {
        tokens.push(Token::Literal(literal));
    }
    Ok(tokens)
}

// The calendar fields a parse sets (Java's `Calendar` fields).
const ERA: usize = 0;
const YEAR: usize = 1;
/// 0-based.
const MONTH: usize = 2;
const DAY_OF_MONTH: usize = 3;
const DAY_OF_YEAR: usize = 4;
/// Sunday = 1 … Saturday = 7.
const DAY_OF_WEEK: usize = 5;
const DAY_OF_WEEK_IN_MONTH: usize = 6;
const HOUR_OF_DAY: usize = 7;
/// 0-11, with `AM_PM`.
const HOUR: usize = 8;
const AM_PM: usize = 9;
const MINUTE: usize = 10;
const SECOND: usize = 11;
const MILLISECOND: usize = 12;
/// Milliseconds east of UTC.
const ZONE_OFFSET: usize = 13;

/// Parsed field values with the order they were set in (Java resolves conflicting fields in
/// favour of the most recently set). Stamp 0 = unset.
#[derive(Default)]
struct CalendarFields {
    next_stamp: u32,
    values: [(i64, u32); 14],
}

impl CalendarFields {
    fn set(&mut self, field: usize, value: i64) {
        self.next_stamp += 1;
        self.values[field] = (value, self.next_stamp);
    }

    fn get(&self, field: usize) -> Option<i64> {
        let (value, stamp) = self.values[field];
        (stamp != 0).then_some(value)
    }

    fn stamp(&self, field: usize) -> u32 {
        self.values[field].1
    }

    /// The instant the fields describe, with `extra_years` added to the year (Java's
    /// lenient `GregorianCalendar` resolution, proleptic Gregorian, UTC unless a zone was
    /// parsed). `None` if the date is out of `chrono`'s range.
    fn establish(&self, extra_years: i64) -> Option<i64> {
        let mut year = self.get(YEAR).unwrap_or(1970) + extra_years;
        if self.get(ERA) == Some(0) {
            year = 1 - year;
        }

        // The date: from the most recently set of day-of-month, day-of-year, or
        // day-of-week-in-month together with day-of-week.
        let day_stamp = self.stamp(DAY_OF_MONTH);
        let doy_stamp = self.stamp(DAY_OF_YEAR);
        let dow_stamp = self.stamp(DAY_OF_WEEK);
        let dowim_stamp = match (self.stamp(DAY_OF_WEEK_IN_MONTH), dow_stamp) {
            (0, _) | (_, 0) => 0,
            (a, b) => a.max(b),
        };
        let best = day_stamp.max(doy_stamp).max(dowim_stamp);
        let weekday_in_month = if best == 0 {
            // Neither complete: a lone day-of-week or day-of-week-in-month still counts.
            self.stamp(DAY_OF_WEEK_IN_MONTH).max(dow_stamp) != 0
        } else {
            best == dowim_stamp
        };
        let day_from_ce = if best != 0 && best == doy_stamp {
            let jan1 = first_of_month(year, 1)?;
            jan1.checked_add(self.get(DAY_OF_YEAR)? - 1)?
        } else {
            let month0 = self.get(MONTH).unwrap_or(0);
            let year = year.checked_add(month0.div_euclid(12))?;
            let month = month0.rem_euclid(12) as u32 + 1;
            let first = first_of_month(year, month)?;
            if weekday_in_month {
                let weekday = self.get(DAY_OF_WEEK).unwrap_or(SUNDAY);
                let nth = self.get(DAY_OF_WEEK_IN_MONTH).unwrap_or(1);
                let last = if nth >= 0 {
                    first + 7 * nth - 1
                } else {
                    let next = if month == 12 {
                        first_of_month(year + 1, 1)?
                    } else {
                        first_of_month(year, month + 1)?
                    };
                    first + (next - first) + 7 * (nth + 1) - 1
                };
                // The latest day on or before `last` that falls on `weekday` (day 7 from CE
                // is a Sunday).
                last - (last - (weekday - 1)).rem_euclid(7)
            } else {
                first.checked_add(self.get(DAY_OF_MONTH).unwrap_or(1) - 1)?
            }
        };

        // The time of day: hour of day, or the 12-hour clock with AM/PM, whichever was set
        // later.
        let hod_stamp = self.stamp(HOUR_OF_DAY);
        let clock_stamp = match (self.stamp(HOUR), self.stamp(AM_PM)) {
            (0, _) | (_, 0) => 0,
            (a, b) => a.max(b),
        };
        let mut best = clock_stamp.max(hod_stamp);
        if best == 0 {
            best = self.stamp(HOUR).max(self.stamp(AM_PM));
        }
        let hours = if best == 0 {
            0
        } else if best == hod_stamp {
            self.get(HOUR_OF_DAY).unwrap_or(0)
        } else {
            self.get(HOUR).unwrap_or(0) + 12 * self.get(AM_PM).unwrap_or(0)
        };
        let time_of_day = ((hours * 60 + self.get(MINUTE).unwrap_or(0)) * 60
            + self.get(SECOND).unwrap_or(0))
            * 1000
            + self.get(MILLISECOND).unwrap_or(0);

        (day_from_ce - EPOCH_DAY_FROM_CE)
            .checked_mul(MILLIS_PER_DAY)?
            .checked_add(time_of_day)?
            .checked_sub(self.get(ZONE_OFFSET).unwrap_or(0))
    }
}

/// Days from the common era (0001-01-01 = 1) of the first of a month.
fn first_of_month(year: i64, month: u32) -> Option<i64> {
    let date = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, 1)?;
    Some(i64::from(date.num_days_from_ce()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2025-06-01T00:00:00Z: two-digit years fall in 1945-06-01 … 2045-05-31.
    const NOW: i64 = 1_748_736_000_000;
    /// 2023-11-14T22:13:20Z, a Tuesday.
    const T: i64 = 1_700_000_000_000;

    fn fmt(pattern: &str) -> JavaDateFormat {
        JavaDateFormat::parse_pattern_at(pattern, NOW).unwrap()
    }

    fn format(pattern: &str, millis: i64) -> String {
        fmt(pattern).format_millis(millis).unwrap()
    }

    fn parse(pattern: &str, text: &str) -> i64 {
        fmt(pattern)
            .parse_to_millis(text)
            .unwrap_or_else(|e| panic!("{pattern} on {text}: {e}"))
    }

    fn fails(pattern: &str, text: &str) -> bool {
        fmt(pattern).parse_to_millis(text).is_err()
    }

    /// Milliseconds of a UTC civil date-time.
    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, ms: u32) -> i64 {
        NaiveDate::from_ymd_opt(y, mo, d)
            .unwrap()
            .and_hms_milli_opt(h, mi, s, ms)
            .unwrap()
            .and_utc()
            .timestamp_millis()
    }

    #[test]
    fn formats_like_simple_date_format() {
        // Outputs of Java's SimpleDateFormat with the time zone set to UTC.
        assert_eq!(format("yyyyMMdd", 1_483_425_001_864), "20170103");
        assert_eq!(
            format("yyyy MM dd HH mm ss SSS z", 86_401_234),
            "1970 01 02 00 00 01 234 UTC"
        );
        assert_eq!(
            format("yyyy-MM-dd'T'HH:mm:ss.SSSZ", 0),
            "1970-01-01T00:00:00.000+0000"
        );
        assert_eq!(
            format("yyyy-MM-dd'T'HH:mm:ss.SSSXXX", T),
            "2023-11-14T22:13:20.000Z"
        );
        assert_eq!(format("yyyy-MM-dd'T'HH:mm:ssX", T), "2023-11-14T22:13:20Z");
        assert_eq!(
            format("EEE, dd MMM yyyy HH:mm:ss z", T),
            "Tue, 14 Nov 2023 22:13:20 UTC"
        );
        assert_eq!(
            format("EEEE MMMM d, yyyy h:mm a", T),
            "Tuesday November 14, 2023 10:13 PM"
        );
        assert_eq!(format("HH:mm", T), "22:13");
        assert_eq!(format("yyyy-MM-dd-HH", T), "2023-11-14-22");
        assert_eq!(format("G yy y yyy yyyyy", T), "AD 23 2023 2023 02023");
        assert_eq!(
            format("GGGG zzzz", T),
            "Anno Domini Coordinated Universal Time"
        );
        assert_eq!(format("D DDDD u F", T), "318 0318 2 2");
        assert_eq!(format("k K h H", T), "22 10 10 22");
        assert_eq!(
            format("M MM MMM MMMM L LLL", utc(2024, 3, 5, 0, 0, 0, 0)),
            "3 03 Mar March 3 Mar"
        );
        assert_eq!(format("d dd ddd", utc(2024, 3, 5, 0, 0, 0, 0)), "5 05 005");
    }

    #[test]
    fn counts_are_minimum_widths_and_s_is_milliseconds() {
        let t = utc(2024, 1, 2, 3, 4, 5, 7);
        assert_eq!(format("H:m:s.S", t), "3:4:5.7");
        assert_eq!(format("HH:mm:ss.SS", t), "03:04:05.07");
        assert_eq!(format("ss.SSS", t), "05.007");
        assert_eq!(format("SSSS", t), "0007");
        assert_eq!(format("S", utc(2024, 1, 2, 3, 4, 5, 123)), "123");
        assert_eq!(format("SS", utc(2024, 1, 2, 3, 4, 5, 123)), "123");
    }

    #[test]
    fn midnight_and_noon_on_the_twelve_and_twenty_four_hour_clocks() {
        let midnight = utc(2024, 1, 1, 0, 30, 0, 0);
        assert_eq!(format("k:mm", midnight), "24:30");
        assert_eq!(format("hh:mm a", midnight), "12:30 AM");
        assert_eq!(format("K:mm a", midnight), "0:30 AM");
        let noon = utc(2024, 1, 1, 12, 0, 0, 0);
        assert_eq!(format("h a K", noon), "12 PM 0");
    }

    #[test]
    fn quotes() {
        assert_eq!(format("hh 'o''clock' a", T), "10 o'clock PM");
        assert_eq!(format("''yyyy''", T), "'2023'");
        assert_eq!(format("'Year:' yyyy 'at' HH", T), "Year: 2023 at 22");
        assert_eq!(format("yyyy'T'", T), "2023T");
        // Non-letters need no quotes; non-ASCII letters are literals too.
        assert_eq!(format("yyyy/MM/dd é", T), "2023/11/14 é");
    }

    #[test]
    fn years_before_the_common_era_and_before_1970() {
        assert_eq!(
            format("yyyy-MM-dd HH:mm:ss.SSS", -1),
            "1969-12-31 23:59:59.999"
        );
        // Proleptic Gregorian year 0 is 1 BC.
        let bc = utc(0, 6, 1, 0, 0, 0, 0);
        assert_eq!(format("yyyy G", bc), "0001 BC");
        assert_eq!(parse("yyyy-MM-dd G", "0001-06-01 BC"), bc);
        assert_eq!(
            parse("yyyy-MM-dd GGGG", "2024-06-01 anno domini"),
            utc(2024, 6, 1, 0, 0, 0, 0)
        );
    }

    #[test]
    fn parses_what_it_formats() {
        // Patterns down to the millisecond give the instant back.
        for pattern in [
            "yyyy-MM-dd'T'HH:mm:ss.SSSZ",
            "yyyy-MM-dd'T'HH:mm:ss.SSSXXX",
            "EEE, dd MMM yyyy HH:mm:ss.SSS z",
            "EEEE MMMM d, yyyy h:mm:ss.SSS a",
            "yyyy MM dd HH mm ss SSS z",
            "yyyyMMddHHmmssSSS",
            "kk:mm:ss.SSS dd.MM.yyyy",
            "yyyy-DDD HH:mm:ss.SSS",
        ] {
            for t in [
                T,
                0,
                86_401_234,
                utc(2024, 2, 29, 0, 0, 0, 1),
                utc(1999, 12, 31, 23, 59, 59, 999),
            ] {
                let text = format(pattern, t);
                assert_eq!(parse(pattern, &text), t, "{pattern}: {text}");
            }
        }
        // Coarser ones give the start of the day / minute.
        assert_eq!(
            parse("yyyyMMdd", &format("yyyyMMdd", T)),
            utc(2023, 11, 14, 0, 0, 0, 0)
        );
        assert_eq!(
            parse(
                "EEE, dd MMM yyyy HH:mm z",
                &format("EEE, dd MMM yyyy HH:mm z", T)
            ),
            T - 20_000
        );
        assert_eq!(
            parse("yyyy MM dd HH mm ss SSS z", "1970 01 02 00 00 01 234 UTC"),
            86_401_234
        );
    }

    #[test]
    fn parse_is_lenient_like_java() {
        let day = |y, m, d| utc(y, m, d, 0, 0, 0, 0);
        assert_eq!(parse("yyyy-MM-dd", "2024-02-30"), day(2024, 3, 1));
        assert_eq!(parse("yyyy-MM-dd", "2024-13-01"), day(2025, 1, 1));
        assert_eq!(parse("yyyy-MM-dd", "2024-00-10"), day(2023, 12, 10));
        assert_eq!(parse("yyyy-MM-dd", "2024-1-5"), day(2024, 1, 5));
        assert_eq!(parse("HH:mm", "25:00"), utc(1970, 1, 2, 1, 0, 0, 0));
        assert_eq!(parse("HH:mm:ss", "10:61:00"), utc(1970, 1, 1, 11, 1, 0, 0));
        assert_eq!(parse("kk:mm", "24:15"), utc(1970, 1, 1, 0, 15, 0, 0));
        // `S` is a count of milliseconds, however many digits it has.
        assert_eq!(
            parse("HH:mm:ss.S", "10:00:00.5"),
            utc(1970, 1, 1, 10, 0, 0, 5)
        );
        assert_eq!(
            parse("HH:mm:ss.SSS", "10:00:00.123456"),
            utc(1970, 1, 1, 10, 2, 3, 456)
        );
        // Blanks before a field are skipped; text after the pattern is ignored.
        assert_eq!(parse("yyyy-MM-dd", "2024-  01-\t15"), day(2024, 1, 15));
        assert_eq!(
            parse("yyyy-MM-dd", "2024-01-15T10:00:00Z"),
            day(2024, 1, 15)
        );
        assert_eq!(
            parse("yyyy-MM-dd HH:mm:ss", "2024-01-15 10:00:00.123"),
            utc(2024, 1, 15, 10, 0, 0, 0)
        );
        // The only fields are the time: the date is 1970-01-01.
        assert_eq!(parse("HH:mm", "09:30"), utc(1970, 1, 1, 9, 30, 0, 0));
        // A year of more than four digits, and a negative month.
        assert_eq!(parse("yyyy-MM-dd", "12345-01-01"), day(12345, 1, 1));
        assert_eq!(parse("yyyy-MM-dd", "2024--1-01"), day(2023, 11, 1));
    }

    #[test]
    fn adjacent_numbers_are_split_by_the_letter_counts() {
        assert_eq!(parse("yyyyMMdd", "20240115"), utc(2024, 1, 15, 0, 0, 0, 0));
        assert_eq!(
            parse("yyyyMMddHHmmss", "20240115103005"),
            utc(2024, 1, 15, 10, 30, 5, 0)
        );
        // The last number of a run takes every digit left.
        assert_eq!(parse("yyyyMMdd", "2024011"), utc(2024, 1, 1, 0, 0, 0, 0));
        assert_eq!(parse("yyyyMMdd", "202401150"), utc(2024, 5, 29, 0, 0, 0, 0));
        // Too short for the counted widths.
        assert!(fails("yyyyMMdd", "202401"));
        // `MMM` is a name, so the year before it is not counted.
        assert_eq!(
            parse("yyyyMMMdd", "2024Jan15"),
            utc(2024, 1, 15, 0, 0, 0, 0)
        );
    }

    #[test]
    fn two_digit_years_fall_in_the_century_window() {
        let y = |text: &str| parse("MM/dd/yy", text);
        assert_eq!(y("01/15/24"), utc(2024, 1, 15, 0, 0, 0, 0));
        assert_eq!(y("01/15/44"), utc(2044, 1, 15, 0, 0, 0, 0));
        assert_eq!(y("01/15/46"), utc(1946, 1, 15, 0, 0, 0, 0));
        assert_eq!(y("01/15/99"), utc(1999, 1, 15, 0, 0, 0, 0));
        // 45 is the window's start year: before 1945-06-01 it means 2045.
        assert_eq!(y("01/15/45"), utc(2045, 1, 15, 0, 0, 0, 0));
        assert_eq!(y("07/15/45"), utc(1945, 7, 15, 0, 0, 0, 0));
        // Not exactly two digits, or `yyy`+: the year as written.
        assert_eq!(
            parse("MM/dd/yy", "01/15/2024"),
            utc(2024, 1, 15, 0, 0, 0, 0)
        );
        assert_eq!(parse("MM/dd/yy", "01/15/7"), utc(7, 1, 15, 0, 0, 0, 0));
        assert_eq!(parse("MM/dd/yyyy", "01/15/24"), utc(24, 1, 15, 0, 0, 0, 0));
        assert_eq!(parse("y-MM", "24-03"), utc(2024, 3, 1, 0, 0, 0, 0));
    }

    #[test]
    fn names_am_pm_and_weekdays() {
        assert_eq!(
            parse("dd MMM yyyy", "15 jan 2024"),
            utc(2024, 1, 15, 0, 0, 0, 0)
        );
        assert_eq!(
            parse("dd MMM yyyy", "15 January 2024"),
            utc(2024, 1, 15, 0, 0, 0, 0)
        );
        assert_eq!(
            parse("dd MMMM yyyy", "15 Sep 2024"),
            utc(2024, 9, 15, 0, 0, 0, 0)
        );
        assert!(fails("dd MMM yyyy", "15 Jnu 2024"));
        assert_eq!(parse("hh:mm a", "12:30 AM"), utc(1970, 1, 1, 0, 30, 0, 0));
        assert_eq!(parse("hh:mm a", "12:30 PM"), utc(1970, 1, 1, 12, 30, 0, 0));
        assert_eq!(parse("hh:mm a", "01:05 pm"), utc(1970, 1, 1, 13, 5, 0, 0));
        assert_eq!(parse("hh:mm", "11:05"), utc(1970, 1, 1, 11, 5, 0, 0));
        // A day of month wins over a day of week set before it, even a wrong one.
        let jan15 = utc(2024, 1, 15, 0, 0, 0, 0);
        assert_eq!(parse("EEE, dd MMM yyyy", "Mon, 15 Jan 2024"), jan15);
        assert_eq!(parse("EEE, dd MMM yyyy", "Friday, 15 Jan 2024"), jan15);
        // Alone, a weekday is its first occurrence in the month (1970-01-05 was a Monday).
        assert_eq!(parse("EEE", "Mon"), utc(1970, 1, 5, 0, 0, 0, 0));
        assert_eq!(
            parse("yyyy-MM EEEE F", "2024-01 Friday 3"),
            utc(2024, 1, 19, 0, 0, 0, 0)
        );
        assert_eq!(
            parse("yyyy-MM u F", "2024-01 7 -1"),
            utc(2024, 1, 28, 0, 0, 0, 0)
        );
        // A day of year set after the day of month wins.
        assert_eq!(
            parse("yyyy-MM-dd DDD", "2024-01-15 060"),
            utc(2024, 2, 29, 0, 0, 0, 0)
        );
        assert_eq!(parse("yyyy-DDD", "2024-060"), utc(2024, 2, 29, 0, 0, 0, 0));
        // A name does not skip leading blanks (a number does).
        assert!(fails("yyyy-MMM", "2024- Jan"));
    }

    #[test]
    fn zones() {
        let ten = utc(2024, 1, 15, 10, 0, 0, 0);
        let rfc = "yyyy-MM-dd'T'HH:mm:ssZ";
        assert_eq!(parse(rfc, "2024-01-15T12:00:00+0200"), ten);
        assert_eq!(parse(rfc, "2024-01-15T05:30:00-0430"), ten);
        assert_eq!(parse(rfc, "2024-01-15T10:00:00 UTC"), ten);
        // `Z` does not read the letter Z, nor `+hh:mm`.
        assert!(fails(rfc, "2024-01-15T10:00:00Z"));
        assert!(fails(rfc, "2024-01-15T12:00:00+02:00"));
        assert!(fails(rfc, "2024-01-15T12:00:00+02"));
        let iso3 = "yyyy-MM-dd'T'HH:mm:ssXXX";
        assert_eq!(parse(iso3, "2024-01-15T10:00:00Z"), ten);
        assert_eq!(parse(iso3, "2024-01-15T12:00:00+02:00"), ten);
        assert!(fails(iso3, "2024-01-15T12:00:00+0200"));
        assert_eq!(
            parse("yyyy-MM-dd'T'HH:mm:ssXX", "2024-01-15T12:00:00+0200"),
            ten
        );
        assert_eq!(
            parse("yyyy-MM-dd'T'HH:mm:ssX", "2024-01-15T12:00:00+02"),
            ten
        );
        assert_eq!(
            parse("yyyy-MM-dd'T'HH:mm:ssX", "2024-01-15T12:00:00+0230"),
            ten
        );
        assert!(fails("yyyy-MM-dd'T'HH:mm:ssX", "2024-01-15T12:00:00+2"));
        let named = "yyyy-MM-dd HH:mm z";
        assert_eq!(parse(named, "2024-01-15 10:00 GMT"), ten);
        assert_eq!(parse(named, "2024-01-15 12:00 GMT+02:00"), ten);
        assert_eq!(parse(named, "2024-01-15 12:00 gmt+2:00"), ten);
        assert_eq!(parse(named, "2024-01-15 12:00 +0200"), ten);
        assert_eq!(
            parse(named, "2024-01-15 10:00 Coordinated Universal Time"),
            ten
        );
        assert!(fails(named, "2024-01-15 12:00 GMT+2"));
        assert!(fails(named, "2024-01-15 12:00 +2400"));
        // Zone names other than UTC/GMT are not known here (Java knows the JVM's list).
        assert!(fails(named, "2024-01-15 12:00 CET"));
    }

    #[test]
    fn unparseable_text() {
        assert!(fails("yyyy-MM-dd", ""));
        assert!(fails("yyyy-MM-dd", "abc"));
        assert!(fails("yyyy-MM-dd", "2024/01/15"));
        assert!(fails("yyyy-MM-dd", "2024-01-"));
        assert!(fails("yyyy-MM-dd", "2024-01-  "));
        assert!(fails("yyyy-MM-dd'T'HH", "2024-01-15 10"));
        let err = fmt("yyyy-MM-dd").parse_to_millis("nope").unwrap_err();
        assert!(err.contains("nope"), "{err}");
        // An empty pattern reads nothing and means the epoch; it formats as "".
        assert_eq!(parse("", "anything"), 0);
        assert_eq!(format("", T), "");
    }

    #[test]
    fn pattern_errors_name_the_pattern() {
        let err = |p: &str| JavaDateFormat::parse_pattern(p).unwrap_err();
        assert!(err("bad-format").contains("Illegal pattern character 'b'"));
        assert!(err("bad-format").contains("'bad-format'"));
        assert!(err("yyyy-MM-dd 'T").contains("Unterminated quote"));
        assert!(err("HH:mm XXXX").contains("invalid ISO 8601 format"));
        for week in ["YYYY-MM-dd", "yyyy-ww", "W"] {
            let e = err(week);
            assert!(e.contains("not supported") && e.contains(week), "{e}");
        }
        assert!(JavaDateFormat::parse_pattern("yyyy-MM-dd'T'HH:mm:ss.SSSXXX").is_ok());
        assert_eq!(fmt("yyyy'x'").pattern(), "yyyy'x'");
    }

    #[test]
    fn out_of_range_instants_are_errors() {
        assert!(fmt("yyyy").format_millis(i64::MAX).is_err());
        assert!(fmt("yyyy").format_millis(i64::MIN).is_err());
        assert!(fails("yyyy", "999999999"));
    }
}
