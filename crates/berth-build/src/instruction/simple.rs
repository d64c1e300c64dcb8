//! The one-value instructions: `WORKDIR`, `USER`, `STOPSIGNAL`, `MAINTAINER`, and the lists
//! `VOLUME` and `EXPOSE`.

use super::flags::Flags;
use super::{at_least_one, exactly_one};
use crate::parser::Node;

pub(super) fn parse_workdir(node: &Node) -> Result<String, String> {
    let path = exactly_one(node, "WORKDIR")?;
    Flags::parse(&node.flags, &[])?;
    Ok(path)
}

pub(super) fn parse_user(node: &Node) -> Result<String, String> {
    let user = exactly_one(node, "USER")?;
    Flags::parse(&node.flags, &[])?;
    Ok(user)
}

pub(super) fn parse_stopsignal(node: &Node) -> Result<String, String> {
    let signal = exactly_one(node, "STOPSIGNAL")?;
    Flags::parse(&node.flags, &[])?;
    Ok(signal)
}

pub(super) fn parse_maintainer(node: &Node) -> Result<String, String> {
    let maintainer = exactly_one(node, "MAINTAINER")?;
    Flags::parse(&node.flags, &[])?;
    Ok(maintainer)
}

pub(super) fn parse_volume(node: &Node) -> Result<Vec<String>, String> {
    at_least_one(node, "VOLUME")?;
    Flags::parse(&node.flags, &[])?;
    node.args
        .iter()
        .map(|volume| {
            let volume = volume.trim();
            if volume.is_empty() {
                return Err("VOLUME specified can not be an empty string".to_string());
            }
            Ok(volume.to_string())
        })
        .collect()
}

pub(super) fn parse_expose(node: &Node) -> Result<Vec<String>, String> {
    at_least_one(node, "EXPOSE")?;
    Flags::parse(&node.flags, &[])?;
    Ok(node.args.clone())
}
