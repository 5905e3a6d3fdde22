"""Push of e-licence records (GB/T 36903 metadata) to the provincial big-data platform."""
