//! `COPY` and `ADD`.

use super::flags::{Flags, Kind};
use crate::parser::{parse_heredoc_word, Node};
use crate::shell::ShellLex;

/// What a `COPY`/`ADD` copies and where to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourcesAndDest {
    /// Source paths (or URLs / git refs for `ADD`), as written.
    pub sources: Vec<String>,
    /// Files given inline as heredocs (`COPY <<EOF /etc/motd`).
    pub inline: Vec<InlineSource>,
    /// The destination path.
    pub dest: String,
}

/// A file whose content is a heredoc body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineSource {
    /// The file name: the heredoc's terminator word.
    pub name: String,
    /// The body (leading tabs already removed for `<<-`).
    pub content: String,
    /// Whether the build expands `$VAR`s in `content` (quoted terminator: no).
    pub expand: bool,
}

/// `COPY [--from=...] [--chown=...] [--chmod=...] [--link] [--parents] [--exclude=...] src... dest`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyInstruction {
    pub files: SourcesAndDest,
    /// `--from`: a stage name or index, an image, or a named build context.
    pub from: Option<String>,
    /// `--chown=user[:group]`.
    pub chown: Option<String>,
    /// `--chmod=` (octal mode or symbolic).
    pub chmod: Option<String>,
    pub link: bool,
    /// `--parents`: keep the source's parent directories under `dest`.
    pub parents: bool,
    /// `--exclude` patterns.
    pub excludes: Vec<String>,
}

/// `ADD [--chown=...] [--chmod=...] [--link] [--checksum=...] [--keep-git-dir] [--unpack]
/// [--exclude=...] src... dest`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddInstruction {
    pub files: SourcesAndDest,
    pub chown: Option<String>,
    pub chmod: Option<String>,
    pub link: bool,
    /// `--checksum=sha256:...` of a remote source.
    pub checksum: Option<String>,
    /// `--keep-git-dir` for git sources; `None` when not given.
    pub keep_git_dir: Option<bool>,
    /// `--unpack` forces (or with `=false` prevents) archive extraction; `None`: automatic.
    pub unpack: Option<bool>,
    pub excludes: Vec<String>,
}

const COPY_FLAGS: &[(&str, Kind)] = &[
    ("chown", Kind::String),
    ("from", Kind::String),
    ("chmod", Kind::String),
    ("link", Kind::Bool),
    ("exclude", Kind::Strings),
    ("parents", Kind::Bool),
];

const ADD_FLAGS: &[(&str, Kind)] = &[
    ("chown", Kind::String),
    ("chmod", Kind::String),
    ("link", Kind::Bool),
    ("keep-git-dir", Kind::Bool),
    ("checksum", Kind::String),
    ("unpack", Kind::Bool),
    ("exclude", Kind::Strings),
];

pub(super) fn parse_copy(node: &Node) -> Result<CopyInstruction, String> {
    require_destination(node, "COPY")?;
    let flags = Flags::parse(&node.flags, COPY_FLAGS)?;
    let files = sources_and_dest(node, "COPY")?;
    let from = flags.string("from");
    if let Some(from) = &from {
        check_static_from(from)?;
    }
    Ok(CopyInstruction {
        files,
        from,
        chown: flags.string("chown"),
        chmod: flags.string("chmod"),
        link: flags.bool("link").unwrap_or(false),
        parents: flags.bool("parents").unwrap_or(false),
        excludes: flags.strings("exclude"),
    })
}

pub(super) fn parse_add(node: &Node) -> Result<AddInstruction, String> {
    require_destination(node, "ADD")?;
    let flags = Flags::parse(&node.flags, ADD_FLAGS)?;
    Ok(AddInstruction {
        files: sources_and_dest(node, "ADD")?,
        chown: flags.string("chown"),
        chmod: flags.string("chmod"),
        link: flags.bool("link").unwrap_or(false),
        checksum: flags.string("checksum"),
        keep_git_dir: flags.bool("keep-git-dir"),
        unpack: flags.bool("unpack"),
        excludes: flags.strings("exclude"),
    })
}

fn require_destination(node: &Node, keyword: &str) -> Result<(), String> {
    if node.args.len() < 2 {
        return Err(format!(
            "{keyword} requires at least two arguments, but only one was provided. Destination could not be determined"
        ));
    }
    Ok(())
}

/// `--from` names a stage, image or context directly; the build never expands it.
fn check_static_from(from: &str) -> Result<(), String> {
    let lexed = ShellLex::new('\\')
        .process_word(from, &())
        .map_err(|err| err.to_string())?;
    if lexed != from {
        return Err("variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround".to_string());
    }
    Ok(())
}

fn sources_and_dest(node: &Node, keyword: &str) -> Result<SourcesAndDest, String> {
    let Some((dest, sources)) = node.args.split_last() else {
        return Err(format!("{keyword} requires at least two arguments"));
    };
    if matches!(parse_heredoc_word(dest), Ok(Some(_))) {
        return Err(format!(
            "{keyword} cannot accept a heredoc as a destination"
        ));
    }
    let mut files = SourcesAndDest {
        dest: dest.clone(),
        ..SourcesAndDest::default()
    };
    for source in sources {
        match parse_heredoc_word(source) {
            Ok(Some(opener)) => {
                // Later bodies of the same name win, as in BuildKit.
                let body = node
                    .heredocs
                    .iter()
                    .rev()
                    .find(|heredoc| heredoc.name == opener.name)
                    .map(|heredoc| heredoc.content.clone())
                    .unwrap_or_default();
                let content = if opener.chomp {
                    crate::parser::chomp_leading_tabs(&body)
                } else {
                    body
                };
                files.inline.push(InlineSource {
                    name: opener.name,
                    content,
                    expand: opener.expand,
                });
            }
            _ => files.sources.push(source.clone()),
        }
    }
    Ok(files)
}
