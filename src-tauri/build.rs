//! Tauri's build step: reads the root tauri.conf.json and embeds the UI and icons.
fn main() {
    tauri_build::build()
}
