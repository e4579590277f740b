//! Tauri's build step for the baseline app.
fn main() {
    tauri_build::build()
}
