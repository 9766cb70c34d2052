SELECT EXISTS (SELECT 1 FROM {only} {schema}.{table})
