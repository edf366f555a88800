//! npm packages installed at test time into a folder of cargo's target directory
//! (`target/<folder>/node_modules`), pinned to exact versions; a rerun that finds them
//! skips npm. Without npm the test fails (CI installs it), never skips.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The installed version of `package` under `modules`, from its package.json.
pub fn installed_version(modules: &Path, package: &str) -> Option<String> {
    let text = std::fs::read_to_string(modules.join(package).join("package.json")).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json["version"].as_str().map(str::to_string)
}

/// `target/<folder>/node_modules` holding `packages` (`(name, exact version)`), installed
/// from the npm registry unless already there.
pub fn npm_install(folder: &str, packages: &[(&str, &str)]) -> PathBuf {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target dir");
    let prefix = target.join(folder);
    let modules = prefix.join("node_modules");
    let missing: Vec<String> = packages
        .iter()
        .filter(|(p, v)| installed_version(&modules, p).as_deref() != Some(*v))
        .map(|(p, v)| format!("{p}@{v}"))
        .collect();
    if missing.is_empty() {
        return modules;
    }
    std::fs::create_dir_all(&prefix).unwrap();
    let output = Command::new("npm")
        .args([
            "install",
            "--no-save",
            "--ignore-scripts",
            "--no-audit",
            "--no-fund",
        ])
        .arg("--prefix")
        .arg(&prefix)
        .args(&missing)
        .output()
        .unwrap_or_else(|e| {
            panic!("running npm ({e}): install npm and node (apt-get install npm)")
        });
    assert!(
        output.status.success(),
        "npm install {} failed: {}{}",
        missing.join(" "),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    for (p, v) in packages {
        assert_eq!(
            installed_version(&modules, p).as_deref(),
            Some(*v),
            "npm did not install {p}@{v} under {}",
            modules.display()
        );
    }
    modules
}
