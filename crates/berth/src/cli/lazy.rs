//! Subcommands whose flags clap builds only when they are the one invoked.
//!
//! clap's derive builds every subcommand's arguments before parsing: for berth's Docker-sized
//! flag sets (`run` and `create`, each also under `container`, carry some 90 flags) that was
//! 0.6 ms of every command, the container's monitor included. [`Lazy`] hands a variant's
//! arguments to [`clap::Command::defer`], which builds them when the parser reaches that
//! subcommand (or renders its help); names and descriptions stay eager, so `--help` of the
//! whole program and suggestions for a mistyped command are unchanged. [`LazySub`] does the
//! same for a group of subcommands (`image`, `container`, ...): building every command's
//! flags up front was still about a tenth of a short command's time (`run --help`, perf).

use clap::{ArgMatches, Args, Command, FromArgMatches, Subcommand};

/// `T`'s arguments, built on demand.
pub struct Lazy<T>(pub T);

impl<T: Args> Args for Lazy<T> {
    fn group_id() -> Option<clap::Id> {
        T::group_id()
    }

    fn augment_args(cmd: Command) -> Command {
        cmd.defer(|cmd| keeping_about(cmd, T::augment_args))
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        cmd.defer(|cmd| keeping_about(cmd, T::augment_args_for_update))
    }
}

/// Runs `augment` keeping the subcommand's description: a derived `augment_args` sets the
/// one of a flattened struct's doc comment, which the variant's own used to override and,
/// deferred, would now follow.
fn keeping_about(cmd: Command, augment: fn(Command) -> Command) -> Command {
    let about = cmd.get_about().cloned();
    let long_about = cmd.get_long_about().cloned();
    use clap::builder::Resettable;
    let reset_or = |text: Option<clap::builder::StyledStr>| match text {
        Some(text) => Resettable::Value(text),
        None => Resettable::Reset,
    };
    augment(cmd)
        .about(reset_or(about))
        .long_about(reset_or(long_about))
}

impl<T: FromArgMatches> FromArgMatches for Lazy<T> {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        T::from_arg_matches(matches).map(Lazy)
    }

    fn from_arg_matches_mut(matches: &mut ArgMatches) -> Result<Self, clap::Error> {
        T::from_arg_matches_mut(matches).map(Lazy)
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches(matches)
    }

    fn update_from_arg_matches_mut(&mut self, matches: &mut ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches_mut(matches)
    }
}

/// A group of subcommands (`T`), built only when the parser reaches the command holding them.
pub struct LazySub<T>(pub T);

impl<T: Subcommand> Subcommand for LazySub<T> {
    fn augment_subcommands(cmd: Command) -> Command {
        cmd.defer(T::augment_subcommands)
    }

    fn augment_subcommands_for_update(cmd: Command) -> Command {
        cmd.defer(T::augment_subcommands_for_update)
    }

    fn has_subcommand(name: &str) -> bool {
        T::has_subcommand(name)
    }
}

impl<T: FromArgMatches> FromArgMatches for LazySub<T> {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        T::from_arg_matches(matches).map(LazySub)
    }

    fn from_arg_matches_mut(matches: &mut ArgMatches) -> Result<Self, clap::Error> {
        T::from_arg_matches_mut(matches).map(LazySub)
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches(matches)
    }

    fn update_from_arg_matches_mut(&mut self, matches: &mut ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches_mut(matches)
    }
}
