//! Where the lexer looks variables up.

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;

/// A set of variables the lexer can expand. Names are case-sensitive (Unix semantics).
///
/// Implemented for maps, for `(name, value)` lists (the last entry of a name wins, as with
/// repeated `ENV`) and for Docker-style `NAME=value` lists (an image config's `Env`).
pub trait Env {
    /// The value of `name`, or `None` when it is not set. A variable set to the empty
    /// string is `Some("")`: `${X-default}` and `${X:-default}` tell the two apart.
    fn get(&self, name: &str) -> Option<&str>;
}

impl<S: BuildHasher> Env for HashMap<String, String, S> {
    fn get(&self, name: &str) -> Option<&str> {
        HashMap::get(self, name).map(String::as_str)
    }
}

impl Env for BTreeMap<String, String> {
    fn get(&self, name: &str) -> Option<&str> {
        BTreeMap::get(self, name).map(String::as_str)
    }
}

impl Env for [(String, String)] {
    fn get(&self, name: &str) -> Option<&str> {
        self.iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

impl Env for Vec<(String, String)> {
    fn get(&self, name: &str) -> Option<&str> {
        Env::get(self.as_slice(), name)
    }
}

impl Env for [String] {
    fn get(&self, name: &str) -> Option<&str> {
        self.iter().rev().find_map(|entry| {
            let (key, value) = entry.split_once('=').unwrap_or((entry.as_str(), ""));
            (key == name).then_some(value)
        })
    }
}

impl Env for Vec<String> {
    fn get(&self, name: &str) -> Option<&str> {
        Env::get(self.as_slice(), name)
    }
}

/// No variables at all.
impl Env for () {
    fn get(&self, _name: &str) -> Option<&str> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pair_list_last_entry_wins() {
        let env = vec![
            ("A".to_string(), "1".to_string()),
            ("A".to_string(), "2".to_string()),
        ];
        assert_eq!(Env::get(&env, "A"), Some("2"));
        assert_eq!(Env::get(&env, "B"), None);
    }

    #[test]
    fn docker_list_splits_at_first_equals() {
        let env = vec!["A=x=y".to_string(), "EMPTY=".to_string()];
        assert_eq!(Env::get(&env, "A"), Some("x=y"));
        assert_eq!(Env::get(&env, "EMPTY"), Some(""));
        assert_eq!(Env::get(&env, "a"), None);
    }
}
