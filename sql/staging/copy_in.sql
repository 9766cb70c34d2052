COPY {schema}.{table} ({columns}) FROM STDIN (FORMAT {format})
