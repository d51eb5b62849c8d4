use super::*;

#[test]
fn the_readme_lists_every_code_with_its_status_and_no_other() {
    let readme = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"));
    let table = readme
        .split("| code | status | when |")
        .nth(1)
        .expect("the README has an error table");
    let listed: Vec<(String, u16)> = table
        .lines()
        .skip(2)
        .take_while(|line| line.starts_with('|'))
        .map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let code = cells[1].trim_matches('`').to_owned();
            let status = cells[2].parse().unwrap_or_else(|_| panic!("{line}"));
            (code, status)
        })
        .collect();
    let known: Vec<(String, u16)> = ErrorCode::ALL
        .iter()
        .map(|code| (code.as_str().to_owned(), code.status().as_u16()))
        .collect();
    assert_eq!(listed, known, "README rows, in ErrorCode's order");
}
