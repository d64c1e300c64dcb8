//! One stage, step by step: each instruction's variables expanded with the ARGs and ENV in
//! effect there, its cache key looked up, and on a miss the step carried out and its image
//! committed over the previous step's.

use std::collections::HashMap;

use berth_build::cache_key::StepKey;
use berth_build::context::{has_wildcards, Context, IgnoreRules, Selected};
use berth_build::instruction::{
    parse_instruction, EnvExpander, Instruction, RunInstruction, SourceLocation, SourcesAndDest,
};
use berth_build::parser::parse_heredoc_word;
use berth_build::plan::{Base, PlannedStage, Scope};
use berth_build::progress::Vertex;
use berth_build::shell::ShellLex;
use berth_store::{now_rfc3339, History, ImageConfig, Layer, Reference, RootFs, RunConfig};

use super::copy::{parse_chmod, place, resolve_chown, CopyOptions, Item};
use super::error::{BuildError, FailedStep};
use super::executor::{Build, Built};
use super::metadata::{self, join_workdir, shell_of};
use super::place::Root;
use super::run::{run, RunSpec};
use super::snapshot::{layer_from_upper, Snapshot};

/// The PATH an image gets when its base sets none (BuildKit's default).
const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A `COPY` or `ADD`, in the terms both share.
struct CopyRequest<'a> {
    files: &'a SourcesAndDest,
    from: Option<&'a str>,
    chown: Option<&'a str>,
    chmod: Option<&'a str>,
    parents: bool,
    excludes: &'a [String],
    /// `ADD`: `--checksum` and `--unpack`.
    add: Option<(Option<&'a str>, Option<bool>)>,
}

impl Build<'_> {
    pub(crate) fn run_stage(
        &self,
        stage: &PlannedStage,
        deps: &HashMap<usize, Built>,
        cancelled: &dyn Fn() -> bool,
    ) -> Result<Built, BuildError> {
        let prefix = if self.plan.stages.len() > 1 {
            format!("{} ", stage.display_name())
        } else {
            String::new()
        };
        let from_error = |e: BuildError| {
            e.with_source(self.excerpt(stage.location.start_line, stage.location.end_line))
        };
        let (mut state, from_name) = match &stage.base {
            Base::Scratch => (self.scratch_state(), "scratch".to_string()),
            Base::Stage(i) => {
                let mut built = deps
                    .get(i)
                    .cloned()
                    .ok_or_else(|| from_error(BuildError::new("a stage was not built")))?;
                built.cmd_set = false;
                let name = self
                    .plan
                    .stage(*i)
                    .map(|s| s.display_name())
                    .unwrap_or_default();
                (built, name)
            }
            Base::Image(name) => {
                let shown = Reference::parse(name)
                    .map(|r| r.with_default_tag().to_string())
                    .unwrap_or_else(|_| name.clone());
                let img = self.engine.store().resolve_image(name).map_err(|e| {
                    from_error(BuildError::new(format!(
                        "failed to resolve source metadata for {shown}: {e} (berth uses local images only)"
                    )))
                })?;
                let config = self.engine.store().image_config(&img.id)?;
                (
                    Built {
                        image: Some(img.id),
                        config,
                        top_layer: img.top_layer,
                        cmd_set: false,
                    },
                    shown,
                )
            }
        };
        // ONBUILD triggers of the base run first, and are not inherited further.
        let mut steps: Vec<(Instruction, SourceLocation)> = Vec::new();
        if let Some(rc) = state.config.config.as_mut() {
            for trigger in rc.on_build.take().unwrap_or_default() {
                let parsed = berth_build::parser::parse(&trigger)
                    .map_err(|e| BuildError::new(format!("ONBUILD {trigger}: {}", e.message)))
                    .and_then(|df| {
                        df.nodes
                            .first()
                            .ok_or_else(|| BuildError::new("empty ONBUILD trigger"))
                            .and_then(|n| {
                                parse_instruction(n).map_err(|e| BuildError::new(e.message))
                            })
                    })
                    .map_err(from_error)?;
                let mut location = stage.location.clone();
                location.original = trigger.clone();
                steps.push((parsed, location));
            }
        }
        let rc = state.config.config.get_or_insert_with(RunConfig::default);
        let env = rc.env.get_or_insert_with(Vec::new);
        if !env.iter().any(|e| e.starts_with("PATH=")) {
            env.push(DEFAULT_PATH.to_string());
        }
        steps.extend(stage.instructions.iter().cloned());

        let total = 1 + steps.iter().filter(|(i, _)| has_vertex(i)).count();
        self.progress
            .vertex(&format!("[{prefix}1/{total}] FROM {from_name}"))
            .done();
        let mut scope = Scope::new(self.build_args, &self.plan.global_args);
        let mut n = 1;
        for (instruction, location) in &steps {
            if cancelled() {
                return Err(BuildError::new("canceled: another stage failed"));
            }
            let name = has_vertex(instruction).then(|| {
                n += 1;
                format!("[{prefix}{n}/{total}] {}", one_line(&location.original))
            });
            state = self.step(&state, instruction, location, &mut scope, name, deps)?;
        }
        Ok(state)
    }

    fn scratch_state(&self) -> Built {
        Built {
            image: None,
            config: ImageConfig {
                architecture: self.platform.architecture.clone(),
                variant: self.platform.variant.clone(),
                os: self.platform.os.clone(),
                config: Some(RunConfig::default()),
                rootfs: RootFs {
                    kind: "layers".into(),
                    diff_ids: Vec::new(),
                },
                ..Default::default()
            },
            top_layer: None,
            cmd_set: false,
        }
    }

    fn step(
        &self,
        state: &Built,
        instruction: &Instruction,
        location: &SourceLocation,
        scope: &mut Scope,
        name: Option<String>,
        deps: &HashMap<usize, Built>,
    ) -> Result<Built, BuildError> {
        let vertex = name.map(|n| self.progress.vertex(&n));
        let result = self
            .step_inner(state, instruction, location, scope, vertex.as_ref(), deps)
            .map(|(mut built, cached)| {
                built.cmd_set = state.cmd_set || matches!(instruction, Instruction::Cmd(_));
                (built, cached)
            });
        match (result, vertex) {
            (Ok((built, cached)), Some(v)) => {
                if cached {
                    v.cached();
                } else {
                    v.done();
                }
                Ok(built)
            }
            (Ok((built, _)), None) => Ok(built),
            (Err(mut e), v) => {
                if let Some(v) = &v {
                    v.error(&e.message);
                    if e.step.is_none() {
                        e.step = Some(Box::new(FailedStep {
                            name: v.name().to_string(),
                            output: v.last_lines(),
                        }));
                    }
                }
                Err(e.with_source(self.excerpt(location.start_line, location.end_line)))
            }
        }
    }

    fn step_inner(
        &self,
        state: &Built,
        instruction: &Instruction,
        location: &SourceLocation,
        scope: &mut Scope,
        vertex: Option<&Vertex>,
        deps: &HashMap<usize, Built>,
    ) -> Result<(Built, bool), BuildError> {
        let run_config = state.config.config.clone().unwrap_or_default();
        let image_env = run_config.env.clone().unwrap_or_default();
        let env = scope.expansion_env(&image_env);
        let mut instruction = instruction.clone();
        let mut expander = EnvExpander::new(ShellLex::new(self.plan.escape), &env);
        instruction
            .expand(&mut expander)
            .map_err(|e| BuildError::new(e.to_string()))?;
        // The build args this step's words used (an ENV of the same name hides the arg).
        let used_args: Vec<(String, String)> = scope
            .args()
            .into_iter()
            .filter(|(k, _)| expander.used.contains(k))
            .filter(|(k, _)| {
                !image_env
                    .iter()
                    .any(|e| e.split('=').next() == Some(k.as_str()))
            })
            .collect();
        match &instruction {
            Instruction::Arg(arg) => {
                for def in &arg.args {
                    scope.declare(def);
                }
                Ok((state.clone(), true))
            }
            Instruction::From(_) => Err(BuildError::new("FROM inside a stage")),
            Instruction::Run(r) => {
                self.run_step(state, &instruction, r, &run_config, scope, vertex, deps)
            }
            Instruction::Copy(c) => self.copy_step(
                state,
                &instruction,
                &CopyRequest {
                    files: &c.files,
                    from: c.from.as_deref(),
                    chown: c.chown.as_deref(),
                    chmod: c.chmod.as_deref(),
                    parents: c.parents,
                    excludes: &c.excludes,
                    add: None,
                },
                &run_config,
                &used_args,
                location,
                deps,
            ),
            Instruction::Add(a) => self.copy_step(
                state,
                &instruction,
                &CopyRequest {
                    files: &a.files,
                    from: None,
                    chown: a.chown.as_deref(),
                    chmod: a.chmod.as_deref(),
                    parents: false,
                    excludes: &a.excludes,
                    add: Some((a.checksum.as_deref(), a.unpack)),
                },
                &run_config,
                &used_args,
                location,
                deps,
            ),
            _ => self.metadata_step(
                state,
                &instruction,
                &used_args,
                &one_line(&location.original),
            ),
        }
    }

    fn parent_key(state: &Built) -> String {
        state
            .image
            .as_ref()
            .map_or_else(|| "scratch".to_string(), |d| d.to_string())
    }

    /// The cached result of a step, unless `--no-cache`.
    fn lookup(&self, key: &str) -> Result<Option<Built>, BuildError> {
        if self.no_cache {
            return Ok(None);
        }
        let Some(id) = self.engine.build_cache_lookup(key)? else {
            return Ok(None);
        };
        let Some(img) = self.engine.store().image(&id)? else {
            return Ok(None);
        };
        let config = self.engine.store().image_config(&id)?;
        Ok(Some(Built {
            image: Some(id),
            config,
            top_layer: img.top_layer,
            cmd_set: false,
        }))
    }

    /// A step that changes only the config: ENV, CMD, LABEL, WORKDIR ... (no layer).
    pub(crate) fn metadata_step(
        &self,
        state: &Built,
        instruction: &Instruction,
        used_args: &[(String, String)],
        created_by: &str,
    ) -> Result<(Built, bool), BuildError> {
        let mut key = StepKey::new(&Self::parent_key(state)).instruction(instruction);
        for (k, v) in used_args {
            key = key.arg(k, v);
        }
        let keeps_cmd = state.cmd_set && matches!(instruction, Instruction::Entrypoint(_));
        if keeps_cmd {
            key = key.input("keeps-cmd", "1");
        }
        let key = key.finish();
        if let Some(built) = self.lookup(&key)? {
            return Ok((built, true));
        }
        let mut next = state.clone();
        match instruction {
            Instruction::Maintainer(m) => next.config.author = Some(m.clone()),
            other => {
                let rc = next.config.config.get_or_insert_with(RunConfig::default);
                let cmd = rc.cmd.clone();
                metadata::apply(rc, other)?;
                if keeps_cmd {
                    rc.cmd = cmd;
                }
            }
        }
        let shown = next
            .config
            .config
            .as_ref()
            .and_then(|rc| history_of_command(instruction, rc));
        let built = self.commit(&next, None, shown.as_deref().unwrap_or(created_by))?;
        self.record(&key, &built)?;
        Ok((built, false))
    }

    fn record(&self, key: &str, built: &Built) -> Result<(), BuildError> {
        if let Some(id) = &built.image {
            self.engine.build_cache_record(key, id)?;
        }
        Ok(())
    }

    /// A new image over `parent`: its config, with `layer` (if any) and a history entry.
    pub(crate) fn commit(
        &self,
        parent: &Built,
        layer: Option<Layer>,
        created_by: &str,
    ) -> Result<Built, BuildError> {
        let mut config = parent.config.clone();
        let created = now_rfc3339();
        config.created = Some(created.clone());
        config.rootfs.kind = "layers".into();
        if let Some(l) = &layer {
            config.rootfs.diff_ids.push(l.diff_id.clone());
        }
        config.history.push(History {
            created: Some(created),
            created_by: Some(created_by.to_string()),
            empty_layer: layer.is_none(),
            ..Default::default()
        });
        let id = self.engine.store().create_image(
            self.lease,
            &config.to_bytes(),
            parent.image.as_ref(),
        )?;
        Ok(Built {
            image: Some(id),
            config,
            top_layer: layer
                .map(|l| l.chain_id)
                .or_else(|| parent.top_layer.clone()),
            cmd_set: parent.cmd_set,
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn run_step(
        &self,
        state: &Built,
        instruction: &Instruction,
        r: &RunInstruction,
        run_config: &RunConfig,
        scope: &Scope,
        vertex: Option<&Vertex>,
        deps: &HashMap<usize, Built>,
    ) -> Result<(Built, bool), BuildError> {
        let network = match r.network {
            berth_build::instruction::NetworkMode::None => "none".to_string(),
            berth_build::instruction::NetworkMode::Host => "host".to_string(),
            berth_build::instruction::NetworkMode::Default => self.network.clone(),
        };
        let workdir = if run_config.working_dir.is_empty() {
            "/".to_string()
        } else {
            run_config.working_dir.clone()
        };
        let mounts = self.run_mounts(r, &workdir, deps)?;
        let mut key = StepKey::new(&Self::parent_key(state))
            .instruction(instruction)
            .input("network", &network);
        let key_args = scope.key_args();
        for (k, v) in &key_args {
            key = key.arg(k, v);
        }
        for input in &mounts.key_inputs {
            key = key.input("mount", input);
        }
        let key = key.finish();
        if let Some(built) = self.lookup(&key)? {
            return Ok((built, true));
        }
        let (argv, script) = self.run_argv(run_config, r)?;
        let mut binds = mounts.binds.clone();
        if let Some((host, target)) = &script {
            binds.push(format!("{}:{target}:ro", host.display()));
        }
        let image_env = run_config.env.clone().unwrap_or_default();
        let mut env = scope.run_env(&image_env);
        env.extend(mounts.env.iter().cloned());
        let image = state.image.clone().ok_or_else(|| {
            BuildError::new(
                "RUN needs a base image with a shell; the stage is FROM scratch and empty",
            )
        })?;
        let vertex = vertex.ok_or_else(|| BuildError::new("RUN without progress"))?;
        let layer = run(
            self.engine,
            self.lease,
            RunSpec {
                image: &image,
                top_layer: state.top_layer.as_ref(),
                argv: argv.clone(),
                env,
                user: run_config.user.clone(),
                working_dir: workdir,
                network,
                mounts: mounts.mounts.clone(),
                binds,
                tmpfs: mounts.tmpfs.clone(),
                mount_points: mounts.points.clone(),
            },
            vertex,
        )?;
        drop(mounts);
        let args_text = if key_args.is_empty() {
            String::new()
        } else {
            let list: Vec<String> = key_args.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("|{} {} ", list.len(), list.join(" "))
        };
        let created_by = format!("RUN {args_text}{} # buildkit", argv.join(" "));
        let built = self.commit(state, layer, &created_by)?;
        self.record(&key, &built)?;
        Ok((built, false))
    }

    /// The command of a `RUN`: shell form through the image's SHELL, heredocs handed to the
    /// shell with the command (or run as the script itself). A script with a `#!` line is
    /// mounted as a file and executed: `(host file, path in the container)`.
    #[allow(clippy::type_complexity)]
    fn run_argv(
        &self,
        config: &RunConfig,
        r: &RunInstruction,
    ) -> Result<(Vec<String>, Option<(std::path::PathBuf, String)>), BuildError> {
        if !r.command.prepend_shell {
            return Ok((r.command.args.clone(), None));
        }
        let text = r.command.args.join(" ");
        let mut argv = shell_of(config);
        let whole_script = match (r.heredocs.as_slice(), parse_heredoc_word(text.trim())) {
            ([only], Ok(Some(opener))) if opener.name == only.name => Some(only),
            _ => None,
        };
        if let Some(h) = whole_script {
            let body = h.body();
            if body.starts_with("#!") {
                let dir = self.scratch.fresh("script")?;
                let host = dir.join(&h.name);
                std::fs::write(&host, &body).map_err(super::io_error("writing a RUN script"))?;
                let perm: std::fs::Permissions =
                    std::os::unix::fs::PermissionsExt::from_mode(0o755);
                std::fs::set_permissions(&host, perm)
                    .map_err(super::io_error("writing a RUN script"))?;
                let target = format!("/dev/pipes/{}", h.name);
                return Ok((vec![target.clone()], Some((host, target))));
            }
            argv.push(body);
            return Ok((argv, None));
        }
        let mut script = text;
        for h in &r.heredocs {
            script.push('\n');
            script.push_str(&h.content);
            script.push_str(&h.name);
        }
        argv.push(script);
        Ok((argv, None))
    }

    #[allow(clippy::too_many_arguments)]
    fn copy_step(
        &self,
        state: &Built,
        instruction: &Instruction,
        req: &CopyRequest,
        run_config: &RunConfig,
        used_args: &[(String, String)],
        location: &SourceLocation,
        deps: &HashMap<usize, Built>,
    ) -> Result<(Built, bool), BuildError> {
        let workdir = if run_config.working_dir.is_empty() {
            "/"
        } else {
            run_config.working_dir.as_str()
        };
        let dest = &req.files.dest;
        let mut abs_dest = join_workdir(workdir, dest);
        if dest.ends_with('/') || dest == "." || dest.ends_with("/.") {
            abs_dest.push('/');
        }
        let excludes = IgnoreRules::from_patterns(req.excludes)?;
        let mut key = StepKey::new(&Self::parent_key(state)).instruction(instruction);
        for (k, v) in used_args {
            key = key.arg(k, v);
        }

        // Where the files come from.
        let mut view: Option<Snapshot> = None;
        let mut view_context: Option<Context> = None;
        if let Some(from) = req.from {
            let built = self.source_named(from, deps)?;
            key = key.input(
                "from",
                &built
                    .image
                    .as_ref()
                    .map_or_else(|| "scratch".to_string(), |d| d.to_string()),
            );
            let v = Snapshot::read_only(self.engine, self.scratch, built.top_layer.as_ref())?;
            view_context = Some(Context::new(
                &v.merged,
                IgnoreRules::default(),
                berth_build::context::ChecksumCache::in_memory(),
            ));
            view = Some(v);
        }
        let mut selections: Vec<Selected> = Vec::new();
        let mut urls: Vec<&str> = Vec::new();
        for source in &req.files.sources {
            if req.add.is_some() && is_url(source) {
                urls.push(source);
                continue;
            }
            if req.add.is_some() && is_git(source) {
                return Err(BuildError::new(format!(
                    "ADD of git sources is not supported: {source}"
                )));
            }
            let sels = match &view_context {
                Some(ctx) => ctx.select(source, &excludes),
                None => self.context.select(source, &excludes),
            }
            .map_err(|e| BuildError::new(format!("failed to calculate checksum of ref: {e}")))?;
            selections.extend(sels);
        }
        if view_context.is_none() && !selections.is_empty() {
            key = key.input("context", &self.context.digest(&selections)?);
        }
        // Downloads: a `--checksum` stands for the content; otherwise the content is fetched.
        let checksum = req.add.and_then(|(c, _)| c);
        if checksum.is_some() && urls.len() != 1 {
            return Err(BuildError::new(
                "--checksum can only be used with a single HTTP(S) source",
            ));
        }
        if checksum.is_some() && !selections.is_empty() {
            return Err(BuildError::new(
                "--checksum can only be used with HTTP(S) sources",
            ));
        }
        let mut downloads = Vec::new();
        for url in &urls {
            match checksum {
                Some(c) => key = key.input("url", &format!("{url}@{c}")),
                None => {
                    let file = self.scratch.fresh("download")?.join("content");
                    let d = super::fetch::download(url, &file, None)?;
                    key = key.input("url", &format!("{url}@{}", d.digest));
                    downloads.push((file, d));
                }
            }
        }
        let key = key.finish();
        if let Some(built) = self.lookup(&key)? {
            return Ok((built, true));
        }
        if let Some(c) = checksum {
            let file = self.scratch.fresh("download")?.join("content");
            let d = super::fetch::download(urls[0], &file, Some(c))?;
            downloads.push((file, d));
        }

        let mut snap = Snapshot::writable(self.engine, self.scratch, state.top_layer.as_ref())?;
        {
            let root = Root::open(&snap.merged)?;
            let chown = req.chown.map(|c| resolve_chown(&root, c)).transpose()?;
            let chmod = req.chmod.map(parse_chmod).transpose()?;
            let unpack = req.add.map(|(_, u)| u.unwrap_or(true)).unwrap_or(false);
            let keep_owner = req.from.is_some();
            let mut items: Vec<Item> = Vec::new();
            for sel in &selections {
                if unpack && !sel.is_dir && is_archive_file(&sel.host) {
                    items.push(Item::Archive { path: &sel.host });
                } else {
                    items.push(Item::Selected { sel, keep_owner });
                }
            }
            for inline in &req.files.inline {
                items.push(Item::File {
                    name: &inline.name,
                    path: None,
                    bytes: inline.content.as_bytes(),
                    mode: 0o644,
                    mtime: None,
                });
            }
            for (file, d) in &downloads {
                items.push(Item::File {
                    name: &d.name,
                    path: Some(file),
                    bytes: &[],
                    mode: 0o600,
                    mtime: d.mtime,
                });
            }
            let several = req.files.sources.len() + req.files.inline.len() > 1
                || (req.files.sources.iter().any(|s| has_wildcards(s)) && items.len() > 1);
            place(
                &root,
                &CopyOptions {
                    dest: abs_dest,
                    chown,
                    chmod,
                    parents: req.parents,
                    several,
                },
                &items,
            )?;
        }
        snap.unmount()?;
        drop(view);
        let layer = layer_from_upper(
            self.engine,
            self.lease,
            state.top_layer.as_ref(),
            &snap.upper,
        )?;
        let created_by = format!("{} # buildkit", one_line(&location.original));
        let built = self.commit(state, layer, &created_by)?;
        self.record(&key, &built)?;
        Ok((built, false))
    }

    /// What `--from=` (or a mount's `from=`) names: a stage by name or number, else an image.
    pub(crate) fn source_named(
        &self,
        from: &str,
        deps: &HashMap<usize, Built>,
    ) -> Result<Built, BuildError> {
        let lowered = from.to_lowercase();
        let stage = from.parse::<usize>().ok().or_else(|| {
            self.plan
                .stages
                .iter()
                .find(|s| s.name.as_deref() == Some(lowered.as_str()))
                .map(|s| s.index)
        });
        if let Some(i) = stage {
            if let Some(b) = deps.get(&i) {
                return Ok(b.clone());
            }
        }
        let img = self.engine.store().resolve_image(from).map_err(|e| {
            BuildError::new(format!(
                "failed to resolve {from}: {e} (not a stage, nor a local image)"
            ))
        })?;
        let config = self.engine.store().image_config(&img.id)?;
        Ok(Built {
            image: Some(img.id),
            config,
            top_layer: img.top_layer,
            cmd_set: false,
        })
    }
}

/// The history line BuildKit writes for `CMD` and `ENTRYPOINT`: the resulting command as Go
/// prints a string slice with `%q` (`CMD ["/bin/sh" "-c" "make"]`), whatever form was written.
fn history_of_command(instruction: &Instruction, rc: &RunConfig) -> Option<String> {
    let (keyword, argv) = match instruction {
        Instruction::Cmd(_) => ("CMD", rc.cmd.as_ref()),
        Instruction::Entrypoint(_) => ("ENTRYPOINT", rc.entrypoint.as_ref()),
        _ => return None,
    };
    let words: Vec<String> = argv
        .map(|a| a.iter().map(|w| berth_build::parser::go_quote(w)).collect())
        .unwrap_or_default();
    Some(format!("{keyword} [{}]", words.join(" ")))
}

/// Steps BuildKit shows as progress lines; the other metadata steps are silent.
fn has_vertex(i: &Instruction) -> bool {
    matches!(
        i,
        Instruction::Run(_) | Instruction::Copy(_) | Instruction::Add(_) | Instruction::Workdir(_)
    )
}

fn one_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().trim().to_string()
}

fn is_url(s: &str) -> bool {
    s.starts_with("http://") || s.starts_with("https://")
}

fn is_git(s: &str) -> bool {
    s.starts_with("git@") || s.ends_with(".git") || s.starts_with("git://")
}

fn is_archive_file(path: &std::path::Path) -> bool {
    use std::io::Read;
    let mut head = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(512).read_to_end(&mut head))
        .is_ok()
        && super::source::is_archive(&head)
}
