#include "catalog/glance_import.h"

#include <gtest/gtest.h>

namespace glint::catalog {
namespace {

TEST(GlanceConnection, SqliteAbsoluteAndRelative) {
  auto a = ParseGlanceConnection("sqlite:////var/lib/glance/glance.sqlite");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->engine, "sqlite");
  EXPECT_EQ(a->path, "/var/lib/glance/glance.sqlite");
  auto r = ParseGlanceConnection("sqlite:///glance.sqlite");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->path, "glance.sqlite");
  EXPECT_FALSE(ParseGlanceConnection("sqlite://").ok());
}

TEST(GlanceConnection, MysqlAsGlanceConfiguresIt) {
  auto c = ParseGlanceConnection("mysql+pymysql://glance:p%40ss%3Aword@db.example:3307/glance?charset=utf8");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->engine, "mysql");
  EXPECT_EQ(c->user, "glance");
  EXPECT_EQ(c->password, "p@ss:word");
  EXPECT_EQ(c->host, "db.example");
  EXPECT_EQ(c->port, 3307u);
  EXPECT_EQ(c->database, "glance");
}

TEST(GlanceConnection, MysqlDefaultsSocketSslAndIpv6) {
  auto c = ParseGlanceConnection("mysql://root@localhost/glance?unix_socket=/run/mysqld/mysqld.sock&ssl_ca=/etc/ca.pem");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->port, 3306u);
  EXPECT_EQ(c->password, "");
  EXPECT_EQ(c->unix_socket, "/run/mysqld/mysqld.sock");
  EXPECT_EQ(c->ssl_ca, "/etc/ca.pem");
  auto cnf = ParseGlanceConnection("mysql+pymysql:///glance?read_default_file=/etc/my.cnf.d/glance.cnf"
                                   "&read_default_group=glance");
  ASSERT_TRUE(cnf.ok());
  EXPECT_EQ(cnf->read_default_file, "/etc/my.cnf.d/glance.cnf");
  EXPECT_EQ(cnf->read_default_group, "glance");
  EXPECT_EQ(cnf->host, "");
  auto v6 = ParseGlanceConnection("mariadb+pymysql://u:p@[::1]:3310/g");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 3310u);
}

TEST(GlanceConnection, ClearErrors) {
  auto pg = ParseGlanceConnection("postgresql://u:p@h/glance");
  ASSERT_FALSE(pg.ok());
  EXPECT_NE(pg.status().message().find("unsupported database 'postgresql'"), std::string::npos);
  EXPECT_FALSE(ParseGlanceConnection("mysql+pymysql://u:p@h").ok());      // no database
  EXPECT_FALSE(ParseGlanceConnection("mysql+pymysql://u:p@h:99999/g").ok());  // bad port
  EXPECT_FALSE(ParseGlanceConnection("/var/lib/glance.sqlite").ok());
}

TEST(GlanceConnection, MissingSqliteCatalogIsNotFound) {
  auto s = OpenGlanceSource("sqlite:////nonexistent-dir-glint/glance.sqlite");
  EXPECT_FALSE(s.ok());
}

}  // namespace
}  // namespace glint::catalog
