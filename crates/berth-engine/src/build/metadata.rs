//! The metadata steps of a build (CMD, ENV, LABEL, WORKDIR, EXPOSE ...) applied to the image's
//! run config, by the code `commit --change` uses too, with the one rule a build adds.

use berth_build::instruction::Instruction;
use berth_store::RunConfig;

pub(crate) use crate::image::changes::{join_workdir, shell_of};

use super::error::BuildError;

/// Applies an expanded metadata instruction.
pub(crate) fn apply(config: &mut RunConfig, instruction: &Instruction) -> Result<(), BuildError> {
    crate::image::changes::apply_instruction(config, instruction)?;
    if let Instruction::Entrypoint(_) = instruction {
        // Docker: a new ENTRYPOINT drops the CMD inherited from the base image (the caller
        // puts back one set earlier in the same stage).
        config.cmd = None;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_build::instruction::parse_instruction;

    fn apply_text(config: &mut RunConfig, line: &str) {
        let df = berth_build::parser::parse(line).unwrap();
        apply(config, &parse_instruction(&df.nodes[0]).unwrap()).unwrap();
    }

    #[test]
    fn entrypoint_resets_an_inherited_cmd() {
        let mut c = RunConfig {
            cmd: Some(vec!["sh".into()]),
            ..Default::default()
        };
        apply_text(&mut c, r#"ENTRYPOINT ["httpd"]"#);
        assert_eq!(c.cmd, None);
        apply_text(&mut c, r#"CMD ["-f"]"#);
        assert_eq!(c.cmd.as_deref(), Some(&["-f".to_string()][..]));
        apply_text(&mut c, "WORKDIR /app");
        apply_text(&mut c, "WORKDIR src/..//lib");
        assert_eq!(c.working_dir, "/app/lib");
        apply_text(&mut c, "EXPOSE 80 53/udp");
        assert_eq!(c.exposed_ports.unwrap().len(), 2);
    }
}
