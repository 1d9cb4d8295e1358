// Certificates made at test time with OpenSSL: a CA and leaf certificates it signs, written as
// PEM files (nothing checked in, nothing that expires between runs).
//
//   TestCa ca("test-ca");
//   TestCert server = ca.Issue("logoutd", {"DNS:logoutd.test"});
//   WriteFile(dir + "/tls.crt", server.cert_pem);
#ifndef TESTS_TESTING_TEST_PKI_H_
#define TESTS_TESTING_TEST_PKI_H_

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <fstream>
#include <string>
#include <vector>

namespace logout::testing {

struct TestCert {
  std::string cert_pem;
  std::string key_pem;
};

inline std::string PemOfCert(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

inline std::string PemOfKey(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

inline void WriteTextFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

// TestCa is a self-signed P-256 CA that issues leaf certificates valid for a day.
class TestCa {
 public:
  explicit TestCa(const std::string& common_name) {
    key_ = EVP_EC_gen("P-256");
    cert_ = NewCert(common_name, key_, nullptr, key_, /*is_ca=*/true, {});
  }
  ~TestCa() {
    X509_free(cert_);
    EVP_PKEY_free(key_);
  }
  TestCa(const TestCa&) = delete;
  TestCa& operator=(const TestCa&) = delete;

  std::string cert_pem() const { return PemOfCert(cert_); }

  // Issue signs a new key's certificate. `sans` are OpenSSL subjectAltName items such as
  // "DNS:logoutd.test" or "URI:spiffe://example.org/admin" (empty: no SAN extension).
  TestCert Issue(const std::string& common_name, const std::vector<std::string>& sans) const {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* cert = NewCert(common_name, key, cert_, key_, /*is_ca=*/false, sans);
    TestCert out{PemOfCert(cert), PemOfKey(key)};
    X509_free(cert);
    EVP_PKEY_free(key);
    return out;
  }

 private:
  static X509* NewCert(const std::string& cn, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key,
                       bool is_ca, const std::vector<std::string>& sans) {
    static long serial = 1;
    X509* cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), ++serial + (is_ca ? 1000 : 0));
    X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
    X509_set_issuer_name(cert, issuer == nullptr ? name : X509_get_subject_name(issuer));
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer == nullptr ? cert : issuer, cert, nullptr, nullptr, 0);
    const auto add = [&](int nid, const std::string& value) {
      X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
      if (ext != nullptr) {
        X509_add_ext(cert, ext, -1);
        X509_EXTENSION_free(ext);
      }
    };
    if (is_ca) {
      add(NID_basic_constraints, "critical,CA:TRUE");
      add(NID_key_usage, "critical,keyCertSign,cRLSign");
      add(NID_subject_key_identifier, "hash");
    } else {
      add(NID_basic_constraints, "critical,CA:FALSE");
      add(NID_key_usage, "critical,digitalSignature");
      add(NID_ext_key_usage, "serverAuth,clientAuth");
      add(NID_authority_key_identifier, "keyid");
      if (!sans.empty()) {
        std::string joined;
        for (const std::string& s : sans) joined += (joined.empty() ? "" : ",") + s;
        add(NID_subject_alt_name, joined);
      }
    }
    X509_sign(cert, issuer_key, EVP_sha256());
    return cert;
  }

  EVP_PKEY* key_ = nullptr;
  X509* cert_ = nullptr;
};

}  // namespace logout::testing

#endif  // TESTS_TESTING_TEST_PKI_H_
