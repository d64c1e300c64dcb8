//! Teardown that leaves the veth pairs to the caller: everything else goes at once, the
//! links once the caller deletes them, and unpinning the namespace takes them anyway.

mod common;

use berth_net::*;
use common::*;

#[test]
#[ignore = "helper process entry, run by the tests themselves"]
fn helper_process() {
    common::helper_process();
}

fn link_exists(name: &str) -> bool {
    std::path::Path::new("/sys/class/net").join(name).exists()
}

#[test]
fn the_links_are_left_until_deleted_and_the_rest_is_given_back() {
    let env = Env::new();
    let net = env.network("tl", "10.206.7.0/24");
    let c = env.container("keep", &net, &[]);
    let veth = c.net.endpoints[0].veth.clone();
    assert!(link_exists(&veth));

    let (links, result) = env.nets().teardown_container_but_links(&c.req.id);
    result.unwrap();
    assert_eq!(links, std::slice::from_ref(&veth));
    assert!(link_exists(&veth), "the link is the caller's to delete");
    assert!(env
        .nets()
        .endpoints_of_container(&c.req.id)
        .unwrap()
        .is_empty());
    // Its address is free again.
    let next = env.container("next", &net, &[]);
    assert_eq!(next.ip(), c.ip());
    let _ = env.nets().teardown_container(&next.req.id);

    delete_links(&links).unwrap();
    assert!(!link_exists(&veth));
    // Deleting what is gone is fine.
    delete_links(&links).unwrap();
}

#[test]
fn unpinning_the_namespace_takes_the_links_with_it() {
    let env = Env::new();
    let net = env.network("tu", "10.206.8.0/24");
    let c = env.container("gone", &net, &[]);
    let veth = c.net.endpoints[0].veth.clone();
    remove_netns(&c.req.netns).unwrap();
    let (links, result) = env.nets().teardown_container_but_links(&c.req.id);
    result.unwrap();
    assert_eq!(links, std::slice::from_ref(&veth));
    // The kernel deletes the pair when the namespace ends, in the background.
    wait_for(|| !link_exists(&veth));
}
