from weijian.core.i18n import catalog, translate


def test_every_message_exists_in_both_locales():
    zh, en = set(catalog("zh_CN")), set(catalog("en"))
    assert zh - en == set(), "missing in en"
    assert en - zh == set(), "missing in zh_CN"


def test_chinese_is_the_default_and_parameters_are_filled():
    assert translate("core.errors.period.format", value="2025Q5") == "期间“2025Q5”格式不正确，应为 2025、2025Q1 或 202503"
    assert "2025Q5" in translate("core.errors.period.format", "en", value="2025Q5")
