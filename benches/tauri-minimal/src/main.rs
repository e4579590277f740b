//! A window with a static page that reports its first paint, nothing else.

/// Printed on stdout when the page has painted (the benchmark waits for it).
#[tauri::command]
fn painted() {
    println!("first-paint");
}

fn main() {
    tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![painted])
        .run(tauri::generate_context!())
        .expect("the window starts");
}
