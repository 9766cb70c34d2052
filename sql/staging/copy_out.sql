COPY (SELECT {columns} FROM {only} {schema}.{table}) TO STDOUT (FORMAT {format})
