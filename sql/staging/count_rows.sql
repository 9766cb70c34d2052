SELECT count(*) FROM {only} {schema}.{table}
