//! Container names: the user's, checked as Docker checks them, or a generated
//! `adjective_surname` (our own word lists, in Docker's style).

use rand::seq::SliceRandom;

use crate::{EngineError, Result};

const ADJECTIVES: &[&str] = &[
    "agile", "amber", "ample", "bold", "brave", "bright", "brisk", "calm", "candid", "careful",
    "cheerful", "clever", "cosmic", "crisp", "curious", "daring", "deft", "eager", "earnest",
    "elated", "epic", "fair", "fearless", "fervent", "festive", "fond", "frank", "gallant",
    "gentle", "glad", "golden", "graceful", "happy", "hardy", "hearty", "humble", "jolly",
    "jovial", "keen", "kind", "lively", "loyal", "lucid", "lucky", "merry", "mighty", "modest",
    "nimble", "noble", "patient", "peaceful", "plucky", "polite", "proud", "quick", "quiet",
    "radiant", "rapid", "serene", "sharp", "shiny", "silent", "sincere", "snappy", "spry",
    "steady", "stoic", "sunny", "swift", "tender", "tidy", "tranquil", "trusty", "upbeat",
    "valiant", "vibrant", "vivid", "warm", "wise", "witty", "zealous", "zen",
];

const SURNAMES: &[&str] = &[
    "agnesi",
    "al_khwarizmi",
    "archimedes",
    "babbage",
    "bardeen",
    "bell",
    "bohr",
    "boole",
    "cantor",
    "carson",
    "cauchy",
    "chandrasekhar",
    "curie",
    "darwin",
    "dijkstra",
    "dirac",
    "einstein",
    "euclid",
    "euler",
    "faraday",
    "fermat",
    "fermi",
    "feynman",
    "franklin",
    "galileo",
    "gauss",
    "germain",
    "goodall",
    "hamilton",
    "hawking",
    "heisenberg",
    "hilbert",
    "hopper",
    "hypatia",
    "johnson",
    "kepler",
    "knuth",
    "kovalevskaya",
    "lamarr",
    "leavitt",
    "leibniz",
    "lovelace",
    "maxwell",
    "meitner",
    "mendel",
    "mirzakhani",
    "newton",
    "noether",
    "pascal",
    "pasteur",
    "planck",
    "poincare",
    "ramanujan",
    "riemann",
    "ritchie",
    "sagan",
    "shannon",
    "somerville",
    "tesla",
    "thompson",
    "torvalds",
    "turing",
    "volta",
    "wiles",
    "wozniak",
    "wu",
    "yalow",
    "yonath",
];

/// A fresh `adjective_surname`; callers retry on a clash, adding a digit as Docker does.
pub fn generate(attempt: u32) -> String {
    let mut rng = rand::thread_rng();
    let a = ADJECTIVES.choose(&mut rng).copied().unwrap_or("brave");
    let s = SURNAMES.choose(&mut rng).copied().unwrap_or("turing");
    if attempt == 0 {
        format!("{a}_{s}")
    } else {
        format!("{a}_{s}{attempt}")
    }
}

/// Docker's rule: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`, an optional leading `/` dropped.
pub fn validate(name: &str) -> Result<String> {
    let n = name.strip_prefix('/').unwrap_or(name);
    let b = n.as_bytes();
    let ok = b.len() >= 2
        && b[0].is_ascii_alphanumeric()
        && b[1..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'));
    if ok {
        Ok(n.to_string())
    } else {
        Err(EngineError::InvalidArgument(format!(
            "Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_dockers_rule() {
        assert_eq!(validate("/web-1").unwrap(), "web-1");
        assert!(validate("a").is_err());
        assert!(validate("-a").is_err());
        assert!(validate("a b").is_err());
        let g = generate(0);
        assert!(validate(&g).is_ok(), "{g}");
        assert!(generate(3).ends_with('3'));
    }
}
