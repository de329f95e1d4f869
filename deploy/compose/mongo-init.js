// One database and one user per service: a service cannot read another's data.
// Passwords come from the environment (.env, never committed); see deploy/compose/example.env.
for (const service of ["calls", "funding", "contracts", "notify"]) {
  const password = process.env[`MONGO_${service.toUpperCase()}_PASSWORD`];
  db.getSiblingDB(`poles_${service}`).createUser({
    user: service,
    pwd: password,
    roles: [{ role: "readWrite", db: `poles_${service}` }],
  });
}
