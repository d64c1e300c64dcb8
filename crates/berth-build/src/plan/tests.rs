use std::collections::BTreeMap;

use super::*;
use crate::parser::parse;

fn plan_of(text: &str, target: Option<&str>, args: &[(&str, &str)]) -> Result<Plan, PlanError> {
    let df = parse(text).unwrap();
    let build_args: BTreeMap<String, String> = args
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    plan(
        &df,
        &PlanOptions {
            target,
            build_args: &build_args,
            platform: Platform::parse("linux/amd64").unwrap(),
        },
    )
}

const MULTI: &str = "FROM busybox AS base\nRUN mkdir /x\n\
FROM base AS build\nRUN echo > /out\n\
FROM busybox AS tools\nRUN echo tools\n\
FROM scratch\nCOPY --from=build /out /\nCOPY --from=tools /t /\n";

#[test]
fn only_needed_stages_are_planned() {
    let p = plan_of(MULTI, Some("build"), &[]).unwrap();
    let indexes: Vec<usize> = p.stages.iter().map(|s| s.index).collect();
    assert_eq!(indexes, [0, 1]);
    assert_eq!(p.target, 1);
    assert_eq!(p.stages[1].base, Base::Stage(0));

    let p = plan_of(MULTI, None, &[]).unwrap();
    let last = p.stage(3).unwrap();
    assert_eq!(last.base, Base::Scratch);
    assert_eq!(
        last.needs,
        [1, 2],
        "two independent stages: they may run in parallel"
    );
    assert_eq!(last.display_name(), "stage-3");
}

#[test]
fn unknown_target_and_cycles_are_refused() {
    let e = plan_of(MULTI, Some("nope"), &[]).unwrap_err();
    assert_eq!(e.to_string(), "target stage \"nope\" could not be found");
    let e = plan_of(
        "FROM busybox AS a\nCOPY --from=b /x /\nFROM busybox AS b\nCOPY --from=a /y /\n",
        None,
        &[],
    )
    .unwrap_err();
    assert!(e.to_string().contains("circular dependency"), "{e}");
}

#[test]
fn global_args_feed_from_lines() {
    let text = "ARG IMG=busybox\nARG TAG\nFROM $IMG:${TAG:-latest}\nFROM --platform=$BUILDPLATFORM ${IMG}\n";
    let p = plan_of(text, None, &[("TAG", "1.36")]).unwrap();
    assert_eq!(p.global_args["IMG"], "busybox");
    assert_eq!(p.global_args["TAG"], "1.36");
    assert_eq!(p.global_args["TARGETPLATFORM"], "linux/amd64");
    let p = plan_of(text, Some("stage-0"), &[]);
    assert!(p.is_err(), "stage-N is not a name a target can use");
    let p = plan_of(text, None, &[("TAG", "1.36")]).unwrap();
    assert_eq!(p.stages.len(), 1);
    assert_eq!(p.stages[0].platform.as_deref(), Some("linux/amd64"));
    let p = plan_of("ARG IMG=busybox\nFROM $IMG:${TAG:-latest}\n", None, &[]).unwrap();
    assert_eq!(p.stages[0].base, Base::Image("busybox:latest".into()));
}

#[test]
fn copy_from_an_image_is_no_stage() {
    let p = plan_of("FROM busybox\nCOPY --from=alpine:3 /etc/x /\n", None, &[]).unwrap();
    assert!(p.stages[0].needs.is_empty());
    let p = plan_of(
        "FROM busybox\nFROM scratch\nCOPY --from=0 /bin/sh /\n",
        None,
        &[],
    )
    .unwrap();
    assert_eq!(p.stages[1].needs, [0]);
}
