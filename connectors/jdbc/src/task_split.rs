//! How a table-mode connector spreads its tables over tasks (spec §4): into
//! `min(tables, tasks.max)` contiguous groups whose sizes differ by at most one, the first
//! groups taking the extra tables, as Confluent's `ConnectorUtils.groupPartitions`.

/// The groups of `tables` for at most `max_tasks` tasks (none when there is no table).
pub fn split_tables(tables: &[String], max_tasks: usize) -> Vec<Vec<String>> {
    let groups = tables.len().min(max_tasks.max(1));
    if groups == 0 {
        return Vec::new();
    }
    let (size, extra) = (tables.len() / groups, tables.len() % groups);
    let mut out = Vec::with_capacity(groups);
    let mut start = 0;
    for g in 0..groups {
        let len = size + usize::from(g < extra);
        out.push(tables[start..start + len].to_vec());
        start += len;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("t{i}")).collect()
    }

    #[test]
    fn contiguous_groups_differing_by_at_most_one() {
        assert_eq!(
            split_tables(&names(5), 3),
            vec![
                vec!["t0".to_owned(), "t1".into()],
                vec!["t2".to_owned(), "t3".into()],
                vec!["t4".to_owned()]
            ]
        );
        assert_eq!(split_tables(&names(2), 8).len(), 2);
        assert_eq!(split_tables(&names(3), 0).len(), 1);
        assert!(split_tables(&[], 4).is_empty());
        let groups = split_tables(&names(1000), 7);
        assert_eq!(groups.concat(), names(1000));
        let sizes: Vec<usize> = groups.iter().map(Vec::len).collect();
        assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1);
    }
}
