//! UUIDs the way libvirt reads and writes them.

use std::io::Read;

/// A 16-byte UUID.
pub type Uuid = [u8; 16];

/// Parse a UUID as libvirt's `virUUIDParse` does: leading/trailing spaces are ignored,
/// `-` may separate any pair of hex digits, exactly 32 hex digits are required.
pub fn parse(s: &str) -> Option<Uuid> {
    let s = s.trim_matches(' ');
    let mut out = [0u8; 16];
    let mut n = 0usize;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '-' {
            continue;
        }
        if n >= 16 {
            return None;
        }
        let hi = c.to_digit(16)?;
        let lo = chars.next()?.to_digit(16)?;
        out[n] = (hi * 16 + lo) as u8;
        n += 1;
    }
    (n == 16).then_some(out)
}

/// Format as the canonical `8-4-4-4-12` lower-case form.
pub fn format(u: &Uuid) -> String {
    let mut s = String::with_capacity(36);
    for (i, b) in u.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// A random version-4 UUID from the kernel's random source.
pub fn generate() -> Uuid {
    let mut u = [0u8; 16];
    let ok = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut u)).is_ok();
    if !ok {
        // Fall back to a time/pid mix; uniqueness within one host is what matters here.
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let mix = t ^ ((std::process::id() as u128) << 64);
        u.copy_from_slice(&mix.to_le_bytes());
    }
    u[6] = (u[6] & 0x0f) | 0x40;
    u[8] = (u[8] & 0x3f) | 0x80;
    u
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_lenient_dashes() {
        let s = "6695eb01-f6a4-8304-79aa-97f2502e193f";
        let u = parse(s).unwrap();
        assert_eq!(format(&u), s);
        assert_eq!(parse("6695eb01f6a4830479aa97f2502e193f"), Some(u));
        assert_eq!(parse("6695eb01-f6a4-8304-79aa-97f2502e193"), None);
        assert_eq!(parse("zz95eb01-f6a4-8304-79aa-97f2502e193f"), None);
        assert_eq!(format(&generate()).len(), 36);
    }
}
