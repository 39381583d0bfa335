//! Start order from depends_on: dependencies first, file order otherwise; cycles are errors.

use indexmap::IndexMap;

/// `deps[name]` = names it depends on (all known). Returns names in start order, or a cycle.
pub fn start_order(deps: &IndexMap<String, Vec<String>>) -> Result<Vec<String>, Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    let mut marks: IndexMap<&str, Mark> = deps.keys().map(|k| (k.as_str(), Mark::New)).collect();
    let mut order = Vec::new();
    fn visit<'a>(
        n: &'a str,
        deps: &'a IndexMap<String, Vec<String>>,
        marks: &mut IndexMap<&'a str, Mark>,
        stack: &mut Vec<String>,
        order: &mut Vec<String>,
    ) -> Result<(), Vec<String>> {
        match marks.get(n).copied() {
            Some(Mark::Done) | None => return Ok(()),
            Some(Mark::Active) => {
                let start = stack.iter().position(|s| s == n).unwrap_or(0);
                let mut cycle = stack[start..].to_vec();
                cycle.push(n.to_string());
                return Err(cycle);
            }
            Some(Mark::New) => {}
        }
        marks.insert(n, Mark::Active);
        stack.push(n.to_string());
        for d in deps.get(n).map(Vec::as_slice).unwrap_or_default() {
            visit(d, deps, marks, stack, order)?;
        }
        stack.pop();
        marks.insert(n, Mark::Done);
        order.push(n.to_string());
        Ok(())
    }
    for name in deps.keys() {
        visit(name, deps, &mut marks, &mut Vec::new(), &mut order)?;
    }
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deps(list: &[(&str, &[&str])]) -> IndexMap<String, Vec<String>> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
            .collect()
    }

    #[test]
    fn dependencies_come_first_and_file_order_is_kept() {
        let order = start_order(&deps(&[
            ("kafka-1", &["zk"]),
            ("kafka-2", &["zk"]),
            ("zk", &[]),
        ]))
        .unwrap();
        assert_eq!(order, vec!["zk", "kafka-1", "kafka-2"]);
    }

    #[test]
    fn a_cycle_is_named() {
        let cycle = start_order(&deps(&[("a", &["b"]), ("b", &["c"]), ("c", &["a"])])).unwrap_err();
        assert_eq!(cycle, vec!["a", "b", "c", "a"]);
    }
}
