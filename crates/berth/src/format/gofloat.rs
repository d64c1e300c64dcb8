//! Go's `%e`, `%f` and `%g` float formats, which Docker's sizes (`%.3g`, `%.4g`) and
//! `printf` depend on. Go's `%g` differs from C's in how it picks between the two forms,
//! and writes exponents with a sign and at least two digits (`1e+03`).

/// The significant digits of a float (trailing zeros removed) and the position of its
/// decimal point: value = 0.DIGITS × 10^point. Zero has no digits and point 0, as in Go.
struct Decimal {
    digits: Vec<u8>,
    point: i32,
}

impl Decimal {
    /// `precision` significant digits, rounded; `None` for the shortest text that reads back
    /// as the same float.
    fn new(f: f64, precision: Option<usize>) -> Decimal {
        let text = match precision {
            Some(p) => format!("{:.*e}", p.saturating_sub(1), f.abs()),
            None => format!("{:e}", f.abs()),
        };
        let (mantissa, exp) = text.split_once('e').unwrap_or((&text, "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        let mut digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
        while digits.last() == Some(&b'0') {
            digits.pop();
        }
        let point = if digits.is_empty() { 0 } else { exp + 1 };
        Decimal { digits, point }
    }

    fn digit(&self, i: i32) -> char {
        usize::try_from(i)
            .ok()
            .and_then(|i| self.digits.get(i))
            .map_or('0', |&d| char::from(d))
    }

    /// `d.ddde±XX` with `decimals` digits after the point.
    fn exponent_form(&self, decimals: usize) -> String {
        let mut s = String::new();
        s.push(self.digit(0));
        if decimals > 0 {
            s.push('.');
            for i in 1..=decimals {
                s.push(self.digit(i as i32));
            }
        }
        let exp = if self.digits.is_empty() {
            0
        } else {
            self.point - 1
        };
        s.push('e');
        s.push(if exp < 0 { '-' } else { '+' });
        s.push_str(&format!("{:02}", exp.abs()));
        s
    }

    /// `ddd.ddd` with `decimals` digits after the point.
    fn fixed_form(&self, decimals: usize) -> String {
        let mut s = String::new();
        if self.point <= 0 {
            s.push('0');
        } else {
            for i in 0..self.point {
                s.push(self.digit(i));
            }
        }
        if decimals > 0 {
            s.push('.');
            for i in 0..decimals as i32 {
                s.push(self.digit(self.point + i));
            }
        }
        s
    }
}

fn signed(f: f64, body: String) -> String {
    if f.is_sign_negative() && f != 0.0 {
        format!("-{body}")
    } else {
        body
    }
}

fn special(f: f64) -> Option<String> {
    if f.is_nan() {
        Some("NaN".into())
    } else if f.is_infinite() {
        Some(if f > 0.0 { "+Inf" } else { "-Inf" }.into())
    } else {
        None
    }
}

/// Go's `%g` (`precision` None) or `%.Ng`.
pub fn format_g(f: f64, precision: Option<usize>) -> String {
    if let Some(s) = special(f) {
        return s;
    }
    let precision = precision.map(|p| p.max(1));
    let d = Decimal::new(f, precision);
    let nd = d.digits.len() as i32;
    let shortest = precision.is_none();
    let prec = precision.map_or(nd, |p| p as i32);
    let mut eprec = prec;
    if eprec > nd && nd >= d.point {
        eprec = nd;
    }
    if shortest {
        eprec = 6;
    }
    let exp = d.point - 1;
    let body = if exp < -4 || exp >= eprec {
        d.exponent_form((prec.min(nd) - 1).max(0) as usize)
    } else {
        let p = if prec > d.point { nd } else { prec };
        d.fixed_form((p - d.point).max(0) as usize)
    };
    signed(f, body)
}

/// Go's `%.Ne` (N defaults to 6 in `fmt`).
pub fn format_e(f: f64, precision: usize) -> String {
    if let Some(s) = special(f) {
        return s;
    }
    let d = Decimal::new(f, Some(precision + 1));
    signed(f, d.exponent_form(precision))
}

/// Go's `%.Nf`.
pub fn format_f(f: f64, precision: usize) -> String {
    if let Some(s) = special(f) {
        return s;
    }
    let s = format!("{:.*}", precision, f.abs());
    signed(f, s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g_with_precision_matches_go() {
        // Values checked against Go's fmt.Sprintf("%.3g", v).
        assert_eq!(format_g(4.2586, Some(3)), "4.26");
        assert_eq!(format_g(1.5, Some(3)), "1.5");
        assert_eq!(format_g(100.0, Some(3)), "100");
        assert_eq!(format_g(10.0, Some(3)), "10");
        assert_eq!(format_g(0.0, Some(3)), "0");
        assert_eq!(format_g(999.0, Some(3)), "999");
        assert_eq!(format_g(999.5, Some(3)), "1e+03");
        assert_eq!(format_g(999.999, Some(3)), "1e+03");
        assert_eq!(format_g(123.456, Some(4)), "123.5");
        assert_eq!(format_g(1023.99, Some(4)), "1024");
        assert_eq!(format_g(0.0001234, Some(3)), "0.000123");
        assert_eq!(format_g(0.00001234, Some(3)), "1.23e-05");
        assert_eq!(format_g(-2.5, Some(3)), "-2.5");
    }

    #[test]
    fn g_shortest_switches_to_exponent_at_1e6() {
        assert_eq!(format_g(100000.0, None), "100000");
        assert_eq!(format_g(1234567.0, None), "1.234567e+06");
        assert_eq!(format_g(1e6, None), "1e+06");
        assert_eq!(format_g(0.5, None), "0.5");
        assert_eq!(format_g(0.0001, None), "0.0001");
        assert_eq!(format_g(0.00001, None), "1e-05");
    }

    #[test]
    fn e_and_f() {
        assert_eq!(format_e(1234.5678, 6), "1.234568e+03");
        assert_eq!(format_e(0.0, 2), "0.00e+00");
        assert_eq!(format_e(-0.00015, 1), "-1.5e-04");
        assert_eq!(format_f(1.23556, 2), "1.24");
        assert_eq!(format_f(-1.0, 0), "-1");
    }
}
