//! Shell glob patterns of `${VAR#pat}`, `${VAR%pat}` and `${VAR/pat/repl}`.
//!
//! Only `*` (any run of chars) and `?` (one char) are wildcards; bracket expressions are not
//! supported, as in BuildKit. `\*`, `\?` and `\\` match the char itself; `\}` and `\/` are how
//! a `}` or `/` gets into the pattern at all.

use crate::error::LexReason;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    AnyRun,
    AnyChar,
    Literal(char),
}

fn compile(pattern: &str) -> Result<Vec<Token>, LexReason> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut tokens = Vec::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '*' => tokens.push(Token::AnyRun),
            '?' => tokens.push(Token::AnyChar),
            '\\' => match chars.get(i + 1) {
                // The backslash only got `}` or `/` past the `${...}` scanner; the char
                // itself is a plain literal, taken on the next round.
                Some('}' | '/') => {}
                Some(&escaped @ ('*' | '?' | '\\')) => {
                    tokens.push(Token::Literal(escaped));
                    i += 1;
                }
                other => {
                    return Err(LexReason::InvalidPatternEscape {
                        pattern: pattern.to_string(),
                        escaped: other.map(char::to_string).unwrap_or_default(),
                    })
                }
            },
            ch => tokens.push(Token::Literal(ch)),
        }
        i += 1;
    }
    Ok(tokens)
}

/// Whether `tokens` match all of `text`.
fn matches_all(tokens: &[Token], text: &[char]) -> bool {
    let (mut t, mut s) = (0, 0);
    // Where the last `*` was seen and how much text it has swallowed so far, to retry it
    // with one more char when the rest fails.
    let mut backtrack: Option<(usize, usize)> = None;
    while s < text.len() {
        match tokens.get(t) {
            Some(Token::AnyChar) => {
                t += 1;
                s += 1;
            }
            Some(Token::Literal(ch)) if *ch == text[s] => {
                t += 1;
                s += 1;
            }
            Some(Token::AnyRun) => {
                backtrack = Some((t, s));
                t += 1;
            }
            _ => match backtrack {
                Some((star, swallowed)) => {
                    t = star + 1;
                    s = swallowed + 1;
                    backtrack = Some((star, swallowed + 1));
                }
                None => return false,
            },
        }
    }
    tokens[t..].iter().all(|token| *token == Token::AnyRun)
}

/// `${VAR#pattern}` (shortest) / `${VAR##pattern}` (longest): drop a matching prefix.
pub(super) fn trim_prefix(value: &str, pattern: &str, longest: bool) -> Result<String, LexReason> {
    let tokens = compile(pattern)?;
    let chars: Vec<char> = value.chars().collect();
    let ends: Box<dyn Iterator<Item = usize>> = if longest {
        Box::new((0..=chars.len()).rev())
    } else {
        Box::new(0..=chars.len())
    };
    for end in ends {
        if matches_all(&tokens, &chars[..end]) {
            return Ok(chars[end..].iter().collect());
        }
    }
    Ok(value.to_string())
}

/// `${VAR%pattern}` (shortest) / `${VAR%%pattern}` (longest): drop a matching suffix.
pub(super) fn trim_suffix(value: &str, pattern: &str, longest: bool) -> Result<String, LexReason> {
    let tokens = compile(pattern)?;
    let chars: Vec<char> = value.chars().collect();
    let starts: Box<dyn Iterator<Item = usize>> = if longest {
        Box::new(0..=chars.len())
    } else {
        Box::new((0..=chars.len()).rev())
    };
    for start in starts {
        if matches_all(&tokens, &chars[start..]) {
            return Ok(chars[..start].iter().collect());
        }
    }
    Ok(value.to_string())
}

/// The leftmost match at or after `from`, as long as possible there.
fn find(tokens: &[Token], chars: &[char], from: usize) -> Option<(usize, usize)> {
    (from..=chars.len()).find_map(|start| {
        (start..=chars.len())
            .rev()
            .find(|end| matches_all(tokens, &chars[start..*end]))
            .map(|end| (start, end))
    })
}

/// `${VAR/pattern/replacement}` replaces the first match, `${VAR//pattern/replacement}` all
/// of them; a match is the leftmost and then the longest.
pub(super) fn replace(
    value: &str,
    pattern: &str,
    replacement: &str,
    all: bool,
) -> Result<String, LexReason> {
    let tokens = compile(pattern)?;
    let chars: Vec<char> = value.chars().collect();
    let mut out = String::new();
    let mut pos = 0;
    let mut last_end = None;
    while let Some((start, end)) = find(&tokens, &chars, pos) {
        // An empty match right where the previous match ended is not a new match (as in Go's
        // and sed's replace-all); step over one char instead.
        let empty_after_match = start == end && last_end == Some(start);
        if !empty_after_match {
            out.extend(&chars[pos..start]);
            out.push_str(replacement);
            last_end = Some(end);
        }
        if start < end {
            pos = end;
        } else {
            out.extend(&chars[pos.max(start)..(start + 1).min(chars.len())]);
            pos = start + 1;
        }
        if !all || pos > chars.len() {
            break;
        }
    }
    if pos <= chars.len() {
        out.extend(&chars[pos..]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_and_question_mark_match_like_sh() {
        let tokens = compile("a*c?").unwrap();
        let text = |s: &str| s.chars().collect::<Vec<_>>();
        assert!(matches_all(&tokens, &text("abbbcd")));
        assert!(matches_all(&tokens, &text("acx")));
        assert!(!matches_all(&tokens, &text("abbbc")));
        assert!(!matches_all(&tokens, &text("xacd")));
    }

    #[test]
    fn escaped_wildcards_are_literal() {
        let tokens = compile(r"a\*").unwrap();
        assert!(matches_all(&tokens, &['a', '*']));
        assert!(!matches_all(&tokens, &['a', 'b']));
    }

    #[test]
    fn unknown_escape_is_an_error() {
        assert!(matches!(
            compile(r"a\b"),
            Err(LexReason::InvalidPatternEscape { .. })
        ));
    }

    #[test]
    fn replace_all_with_empty_matches_interleaves() {
        assert_eq!(replace("abc", "", "-", true).unwrap(), "-a-b-c-");
        assert_eq!(replace("abc", "*", "-", true).unwrap(), "-");
    }
}
