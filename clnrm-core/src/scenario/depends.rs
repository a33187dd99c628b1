//! The order services start in: each after the services it `depends_on`
//! (in the order it names them), the rest in the order the file declares
//! them.

use super::model::Service;

/// The services' indices in start order, or a dependency cycle as the ids
/// along it (`["a", "b", "a"]`). Names that are no service are skipped here
/// (validation reports them).
pub fn start_order(services: &[Service]) -> Result<Vec<usize>, Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Visiting,
        Done,
    }
    fn visit(
        at: usize,
        services: &[Service],
        marks: &mut [Mark],
        path: &mut Vec<usize>,
        order: &mut Vec<usize>,
    ) -> Result<(), Vec<String>> {
        match marks[at] {
            Mark::Done => return Ok(()),
            Mark::Visiting => {
                let from = path.iter().position(|&i| i == at).unwrap_or(0);
                let mut cycle: Vec<String> = (path[from..].iter())
                    .map(|&i| services[i].id.value.clone())
                    .collect();
                cycle.push(services[at].id.value.clone());
                return Err(cycle);
            }
            Mark::New => {}
        }
        marks[at] = Mark::Visiting;
        path.push(at);
        for dependency in &services[at].depends_on {
            if let Some(next) = services.iter().position(|s| s.id.value == dependency.value) {
                visit(next, services, marks, path, order)?;
            }
        }
        path.pop();
        marks[at] = Mark::Done;
        order.push(at);
        Ok(())
    }
    let mut marks = vec![Mark::New; services.len()];
    let mut order = Vec::with_capacity(services.len());
    for at in 0..services.len() {
        visit(at, services, &mut marks, &mut Vec::new(), &mut order)?;
    }
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Spanned;

    fn service(id: &str, depends_on: &[&str]) -> Service {
        Service {
            id: Spanned::new(id.to_string(), 0..0),
            plugin: Spanned::new("generic_container".into(), 0..0),
            image: None,
            args: Vec::new(),
            env: Vec::new(),
            ports: Vec::new(),
            volumes: Vec::new(),
            health_check: None,
            wait_for_span: None,
            working_dir: None,
            depends_on: (depends_on.iter())
                .map(|d| Spanned::new(d.to_string(), 0..0))
                .collect(),
            span: 0..0,
        }
    }

    #[test]
    fn dependencies_start_first_and_the_rest_keep_their_order() {
        let services = [
            service("web", &["api"]),
            service("cache", &[]),
            service("api", &["db", "cache"]),
            service("db", &[]),
        ];
        let order: Vec<&str> = (start_order(&services).expect("no cycle").into_iter())
            .map(|i| services[i].id.value.as_str())
            .collect();
        // `web` needs `api`, which needs `db` and `cache`, in that order.
        assert_eq!(order, ["db", "cache", "api", "web"]);
    }

    #[test]
    fn a_cycle_is_named_along_its_path() {
        let services = [
            service("a", &["b"]),
            service("b", &["c"]),
            service("c", &["a"]),
        ];
        assert_eq!(
            start_order(&services),
            Err(vec!["a".into(), "b".into(), "c".into(), "a".into()])
        );
        assert_eq!(
            start_order(&[service("x", &["x"])]),
            Err(vec!["x".into(), "x".into()])
        );
    }
}
