//! TypeScript for the tests of exported code: the compiler and Node's
//! types that `end2end/` installs (`npm ci`), and throw-away projects
//! type-checked with `tsc` and run with Node.js.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use serde_json::{Value, json};

/// `end2end/node_modules`, asserting that TypeScript and Node's types are
/// installed there.
pub fn node_modules() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../end2end/node_modules");
    assert!(
        dir.join("typescript/bin/tsc").exists() && dir.join("@types/node").exists(),
        "TypeScript is not installed: run the test command (.ci/test), which runs npm ci in end2end/"
    );
    dir
}

/// Type-checks and compiles the project in `dir` with its own
/// `tsconfig.json`, panicking with tsc's report when it fails.
pub fn compile(dir: &Path) {
    let compiled = Command::new("node")
        .arg(node_modules().join("typescript/bin/tsc"))
        .arg("-p")
        .arg(dir)
        .output()
        .expect("node runs");
    assert!(
        compiled.status.success(),
        "tsc: {}{}",
        String::from_utf8_lossy(&compiled.stdout),
        String::from_utf8_lossy(&compiled.stderr)
    );
}

/// A project in a fresh temporary directory: TypeScript files written to
/// it, compiled to `out/`, run with Node.js. The directory is removed when
/// the project is dropped, and kept when a test fails.
pub struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    pub fn new(name: &str) -> Project {
        let dir = tempfile::Builder::new()
            .prefix(&format!("switchyard-{name}-"))
            .tempdir()
            .unwrap();
        Project { dir }
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, path: &str, contents: &str) {
        let path = self.dir().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }

    /// Writes each `(path, contents)`, such as a runtime's files.
    pub fn write_all(&self, files: &[(&str, &str)]) {
        for (path, contents) in files {
            self.write(path, contents);
        }
    }

    /// Compiles `entry` and what it imports with `tsc --strict` (ES2022,
    /// CommonJS, Node's types, output in `out/`); `options` are added to
    /// the compiler options, or replace them.
    pub fn compile(&self, entry: &str, options: Value) {
        let mut compiler = json!({
            "strict": true, "target": "ES2022", "module": "commonjs", "lib": ["ES2022"],
            "types": ["node"], "typeRoots": [node_modules().join("@types")], "outDir": "out",
        });
        compiler
            .as_object_mut()
            .unwrap()
            .extend(options.as_object().cloned().unwrap_or_default());
        let config = json!({"compilerOptions": compiler, "files": [entry]});
        self.write("tsconfig.json", &config.to_string());
        compile(self.dir());
    }

    /// `node out/<script>` in the project: its output, to be run or spawned.
    pub fn node(&self, script: &str) -> Command {
        let mut command = Command::new("node");
        command.arg(self.dir().join("out").join(script));
        command
    }

    /// Runs `node out/<script>` to its end, asserting that it succeeds,
    /// and reads what it printed as JSON.
    pub fn run_json(&self, script: &str) -> Value {
        let ran = self.node(script).output().expect("node runs");
        assert!(
            ran.status.success(),
            "{script}: {}",
            String::from_utf8_lossy(&ran.stderr)
        );
        serde_json::from_slice(&ran.stdout).unwrap_or_else(|e| {
            panic!(
                "{script} printed no JSON ({e}): {}",
                String::from_utf8_lossy(&ran.stdout)
            )
        })
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        // What a failing test compiled stays for reading.
        if std::thread::panicking() {
            self.dir.disable_cleanup(true);
        }
    }
}
