//! [`Timestamp`]: the one time type of stored records.
//!
//! Stored and shown as UTC text in one fixed format, `2026-11-29T19:37:14.123Z` (RFC 3339,
//! milliseconds, `Z`): the format SQLite's `strftime('%Y-%m-%dT%H:%M:%fZ', 'now')` writes,
//! so times written by SQL and by Rust compare correctly as text, and what an API client
//! reads is what the database holds.

use std::borrow::Cow;
use std::fmt;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::OffsetDateTime;

/// A point in time, UTC, at millisecond precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

const FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

impl Timestamp {
    pub fn now() -> Timestamp {
        Timestamp::from(OffsetDateTime::now_utc())
    }

    /// Reads any RFC 3339 time (what the database or a client wrote).
    pub fn parse(text: &str) -> Option<Timestamp> {
        OffsetDateTime::parse(text.trim(), &Rfc3339)
            .ok()
            .map(Timestamp::from)
    }

    pub fn as_offset_date_time(self) -> OffsetDateTime {
        self.0
    }

    /// The stored spelling (see the module docs).
    pub fn to_text(self) -> String {
        self.0
            .format(FORMAT)
            .unwrap_or_else(|_| self.0.unix_timestamp().to_string())
    }
}

impl From<OffsetDateTime> for Timestamp {
    /// Converted to UTC and truncated to milliseconds, the precision that is stored.
    fn from(value: OffsetDateTime) -> Timestamp {
        let utc = value.to_offset(time::UtcOffset::UTC);
        let millis = utc.millisecond();
        Timestamp(
            utc.replace_millisecond(millis)
                .unwrap_or(utc)
                .replace_nanosecond(u32::from(millis) * 1_000_000)
                .unwrap_or(utc),
        )
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_text())
    }
}

impl schemars::JsonSchema for Timestamp {
    fn schema_name() -> Cow<'static, str> {
        Cow::Borrowed("Timestamp")
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "string", "format": "date-time"})
    }
}

impl sqlx::Type<sqlx::Sqlite> for Timestamp {
    fn type_info() -> sqlx::sqlite::SqliteTypeInfo {
        <String as sqlx::Type<sqlx::Sqlite>>::type_info()
    }

    fn compatible(ty: &sqlx::sqlite::SqliteTypeInfo) -> bool {
        <String as sqlx::Type<sqlx::Sqlite>>::compatible(ty)
    }
}

impl<'r> sqlx::Decode<'r, sqlx::Sqlite> for Timestamp {
    fn decode(value: sqlx::sqlite::SqliteValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        let text = <&str as sqlx::Decode<sqlx::Sqlite>>::decode(value)?;
        Timestamp::parse(text).ok_or_else(|| format!("not an RFC 3339 time: {text:?}").into())
    }
}

impl<'q> sqlx::Encode<'q, sqlx::Sqlite> for Timestamp {
    fn encode_by_ref(
        &self,
        buf: &mut <sqlx::Sqlite as sqlx::Database>::ArgumentBuffer,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        <String as sqlx::Encode<sqlx::Sqlite>>::encode(self.to_text(), buf)
    }
}

/// Postgres `timestamptz`: on the wire, microseconds since 2000-01-01 UTC (binary) or
/// ISO text (`2026-11-29 19:37:14.123+00`); read back at the millisecond like every time.
const PG_EPOCH_UNIX_MICROS: i128 = 946_684_800_000_000;
const PG_TIMESTAMPTZ_OID: u32 = 1184;

impl sqlx::Type<sqlx::Postgres> for Timestamp {
    fn type_info() -> sqlx::postgres::PgTypeInfo {
        sqlx::postgres::PgTypeInfo::with_oid(sqlx::postgres::types::Oid(PG_TIMESTAMPTZ_OID))
    }

    fn compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
        use sqlx::TypeInfo;
        ty.name().eq_ignore_ascii_case("timestamptz")
    }
}

impl<'r> sqlx::Decode<'r, sqlx::Postgres> for Timestamp {
    fn decode(value: sqlx::postgres::PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        match value.format() {
            sqlx::postgres::PgValueFormat::Binary => {
                let micros = <i64 as sqlx::Decode<sqlx::Postgres>>::decode(value)?;
                let nanos = (i128::from(micros) + PG_EPOCH_UNIX_MICROS) * 1_000;
                Ok(Timestamp::from(OffsetDateTime::from_unix_timestamp_nanos(
                    nanos,
                )?))
            }
            sqlx::postgres::PgValueFormat::Text => {
                let text = value.as_str()?;
                let mut rfc = text.trim().replacen(' ', "T", 1);
                // `+00` / `-05` lack the minutes RFC 3339 requires.
                if rfc.rfind(['+', '-']).is_some_and(|at| rfc.len() - at == 3) {
                    rfc.push_str(":00");
                }
                Timestamp::parse(&rfc).ok_or_else(|| format!("not a timestamptz: {text:?}").into())
            }
        }
    }
}

impl<'q> sqlx::Encode<'q, sqlx::Postgres> for Timestamp {
    fn encode_by_ref(
        &self,
        buf: &mut sqlx::postgres::PgArgumentBuffer,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        let micros = self.0.unix_timestamp_nanos() / 1_000 - PG_EPOCH_UNIX_MICROS;
        let micros = i64::try_from(micros).map_err(|_| format!("time out of range: {self}"))?;
        <i64 as sqlx::Encode<sqlx::Postgres>>::encode(micros, buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_and_print_in_the_stored_format() {
        let t = Timestamp::parse("2026-11-29T19:37:14.123456789+01:00").unwrap();
        assert_eq!(t.to_text(), "2026-11-29T18:37:14.123Z");
        assert_eq!(Timestamp::parse(&t.to_text()), Some(t));
        assert_eq!(
            Timestamp::parse("2026-01-02T03:04:05Z").unwrap().to_text(),
            "2026-01-02T03:04:05.000Z"
        );
        assert!(Timestamp::parse("yesterday").is_none());
        let earlier = Timestamp::parse("2026-01-02T03:04:05.999Z").unwrap();
        let later = Timestamp::parse("2026-01-02T03:04:06.000Z").unwrap();
        assert!(earlier < later && earlier.to_text() < later.to_text());
    }
}
