CREATE SCHEMA {staging}
