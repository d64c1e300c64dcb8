//! `import`, `images`, `image inspect`, `tag`, `rmi`, `history` as a user sees them.

mod common;

use common::Berth;

#[test]
fn import_prints_the_image_id_and_images_lists_it() {
    let b = Berth::new();
    let id = b.busybox("busybox");
    assert!(id.starts_with("sha256:") && id.len() == 71, "{id}");
    let out = b.run(&["images"]);
    let lines: Vec<&str> = out.ok().lines().collect();
    assert_eq!(lines[0], "REPOSITORY   TAG       IMAGE ID       CREATED                  SIZE");
    assert!(lines[1].starts_with(&format!("busybox      latest    {}   ", &id[7..19])), "{}", lines[1]);
}
